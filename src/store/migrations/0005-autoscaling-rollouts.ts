/**
 * Autoscaling and rollouts of services. A replica being removed first drains (out of the routing
 * table, in-flight requests finish) before it is stopped; a service remembers when it was last
 * scaled (the idle clock of scale to zero starts there) and its rollout; gateways report their
 * per-version counters and the requests they hold for a cold start.
 */
export const name = 'autoscaling-rollouts';

export const sql = `
alter table workloads add column draining_since timestamptz;
alter table services add column scaled_at timestamptz;
alter table services add column rollout jsonb;
create table gateway_reports (
  gateway_id text primary key,
  report jsonb not null,
  reported_at timestamptz not null
);
`;
