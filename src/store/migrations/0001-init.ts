/** The first schema. Migrations are numbered, run in order once each, and never edited after release. */
export const name = 'init';

export const sql = `
create table teams (
  id text primary key,
  name text not null unique,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table queues (
  id text primary key,
  name text not null unique,
  team_id text not null references teams(id),
  parent_id text references queues(id),
  priority integer not null default 0,
  quotas jsonb not null default '[]'::jsonb,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index queues_team on queues(team_id);

create table nodes (
  id text primary key,
  name text not null unique,
  state text not null,
  simulated boolean not null,
  labels jsonb not null default '{}'::jsonb,
  cpus integer not null default 0,
  memory_mib bigint not null default 0,
  agent_version text not null default '',
  credential_hash text not null,
  last_heartbeat_at timestamptz,
  assignment_revision integer not null default 0,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create unique index nodes_credential on nodes(credential_hash);

create table gpus (
  node_id text not null references nodes(id) on delete cascade,
  idx integer not null,
  uuid text not null,
  model text not null,
  memory_mib integer not null,
  primary key (node_id, idx)
);

create table workloads (
  id text primary key,
  name text not null,
  team_id text not null references teams(id),
  queue_id text not null references queues(id),
  kind text not null default 'job',
  state text not null,
  reason text,
  priority integer not null default 0,
  gpus integer not null default 0,
  gpu_model text,
  spec jsonb not null,
  generation integer not null default 0,
  attempts integer not null default 0,
  exit_code integer,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  admitted_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz
);
-- A name identifies one active workload per team; finished ones keep their name for history.
create unique index workloads_active_name on workloads(team_id, name)
  where state not in ('succeeded', 'failed', 'cancelled');
create index workloads_state on workloads(state, priority desc, created_at);
create index workloads_team_created on workloads(team_id, created_at desc);

create table replicas (
  id text primary key,
  workload_id text not null references workloads(id) on delete cascade,
  node_id text not null references nodes(id),
  generation integer not null,
  state text not null,
  desired text not null default 'run',
  gpu_indices jsonb not null default '[]'::jsonb,
  exit_code integer,
  message text,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
create index replicas_workload on replicas(workload_id);
create index replicas_node_active on replicas(node_id) where state in ('assigned', 'running', 'stopping');

create table log_chunks (
  id bigserial primary key,
  workload_id text not null references workloads(id) on delete cascade,
  replica_id text not null,
  stream text not null,
  byte_offset bigint not null,
  data text not null,
  created_at timestamptz not null default now(),
  unique (replica_id, stream, byte_offset)
);
create index log_chunks_workload on log_chunks(workload_id, id);

create table events (
  id bigserial primary key,
  at timestamptz not null default now(),
  actor text not null,
  kind text not null,
  target_kind text not null,
  target_id text not null,
  message text not null,
  data jsonb not null default '{}'::jsonb
);
create index events_target on events(target_kind, target_id, id);

create table api_tokens (
  id text primary key,
  name text not null,
  kind text not null,
  role text,
  team_id text references teams(id),
  token_hash text not null unique,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz
);
`;
