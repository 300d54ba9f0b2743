/**
 * The SLO burn history, so that a new leader (after a restart or a failover) goes on from the last
 * one's buckets instead of starting with empty windows. Which alerts are firing needs no table: it
 * is each alert's last `alert.firing` / `alert.resolved` event, read through the partial index.
 */
export const name = 'slo-history';

export const sql = `
create table slo_buckets (
  service_id text not null,
  objective text not null,
  t timestamptz not null,
  good double precision not null,
  bad double precision not null,
  primary key (service_id, objective, t)
);
create index slo_buckets_t on slo_buckets(t);
create index events_alerts on events(id) where kind in ('alert.firing', 'alert.resolved');
`;
