/**
 * Services: a model server kept at N replicas behind the gateway. Each replica is a workload of
 * kind `service` that points back at its service and slot; a replica that ends is placed again
 * after a backoff (`restart_at`). Agents report where a replica listens and whether it is ready.
 */
export const name = 'services';

export const sql = `
create table services (
  id text primary key,
  name text not null,
  team_id text not null references teams(id),
  queue_id text not null references queues(id),
  model text not null,
  model_version text not null,
  replicas integer not null,
  spec jsonb not null,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
create unique index services_active_name on services(team_id, name) where deleted_at is null;
-- The gateway routes by model name: one live service per model.
create unique index services_active_model on services(model) where deleted_at is null;

alter table workloads add column service_id text references services(id);
alter table workloads add column service_index integer;
-- Consecutive ends of this replica: the restart backoff doubles with each.
alter table workloads add column restarts integer not null default 0;
-- A replica that ended waits until then before the scheduler sees it again.
alter table workloads add column restart_at timestamptz;
create unique index workloads_service_slot on workloads(service_id, service_index)
  where service_id is not null and state not in ('succeeded', 'failed', 'cancelled');

alter table replicas add column endpoint text;
alter table replicas add column ready boolean not null default false;
`;
