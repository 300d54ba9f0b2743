import type { FiringAlert, SloObjective, StoredSloBucket } from '../core/slo/monitor.js';
import type { Db } from './db.js';

/** Stores the buckets an SLO evaluation added; one stored again (a retried tick) is kept once. */
export async function insertSloBuckets(db: Db, buckets: readonly StoredSloBucket[]): Promise<void> {
  if (buckets.length === 0) return;
  await db
    .insertInto('slo_buckets')
    .values(buckets.map((b) => ({ service_id: b.serviceId, objective: b.objective, t: new Date(b.t), good: b.good, bad: b.bad })))
    .onConflict((oc) => oc.columns(['service_id', 'objective', 't']).doNothing())
    .execute();
}

export async function listSloBuckets(db: Db, since: Date): Promise<StoredSloBucket[]> {
  const rows = await db.selectFrom('slo_buckets').selectAll().where('t', '>=', since).orderBy('t').execute();
  return rows.map((r) => ({ serviceId: r.service_id, objective: r.objective as SloObjective, t: r.t.getTime(), good: r.good, bad: r.bad }));
}

export async function pruneSloBuckets(db: Db, before: Date): Promise<void> {
  await db.deleteFrom('slo_buckets').where('t', '<', before).execute();
}

/** The alerts whose last event is `alert.firing`: raised, and not resolved since. */
export async function listFiringAlerts(db: Db): Promise<FiringAlert[]> {
  const events = await db
    .selectFrom('events')
    .select(['target_id', 'kind', 'data'])
    .where('kind', 'in', ['alert.firing', 'alert.resolved'])
    .where('target_kind', '=', 'service')
    .orderBy('id')
    .execute();
  const latest = new Map<string, FiringAlert & { firing: boolean }>();
  for (const e of events) {
    const { objective, severity } = e.data as { objective?: FiringAlert['objective']; severity?: FiringAlert['severity'] };
    if (objective === undefined || severity === undefined) continue;
    latest.set(`${e.target_id}\u0000${objective}\u0000${severity}`, { serviceId: e.target_id, objective, severity, firing: e.kind === 'alert.firing' });
  }
  return [...latest.values()].filter((a) => a.firing).map(({ serviceId, objective, severity }) => ({ serviceId, objective, severity }));
}
