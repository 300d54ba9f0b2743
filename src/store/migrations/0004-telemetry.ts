/**
 * Telemetry: what each GPU did, summarised by its agent over short windows (kept for a retention
 * period, then pruned), the latest sample of each node's GPUs for `gpufleet top`, and an index to
 * list events by time.
 */
export const name = 'telemetry';

export const sql = `
create table gpu_usage (
  node_id text not null references nodes(id) on delete cascade,
  gpu_index integer not null,
  from_at timestamptz not null,
  to_at timestamptz not null,
  -- The replica that held the GPU over the window, as the agent saw it; null while it was free.
  replica_id text,
  samples integer not null,
  activity real not null,
  memory_used_mib real not null,
  memory_used_max_mib real not null,
  used boolean not null,
  -- A retried heartbeat sends the same window again: it is stored once.
  primary key (node_id, gpu_index, from_at)
);
create index gpu_usage_to on gpu_usage(to_at);

alter table nodes add column gpu_stats jsonb;
alter table nodes add column gpu_stats_at timestamptz;

create index events_at on events(at, id);
`;
