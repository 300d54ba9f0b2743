import { sql } from 'kysely';
import type { Db } from './db.js';

export interface NewEvent {
  actor: string;
  kind: string;
  targetKind: string;
  targetId: string;
  message: string;
  data?: Record<string, unknown>;
}

export async function insertEvents(db: Db, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('events')
    .values(
      events.map((e) => ({
        actor: e.actor,
        kind: e.kind,
        target_kind: e.targetKind,
        target_id: e.targetId,
        message: e.message,
        data: JSON.stringify(e.data ?? {}),
      })),
    )
    .execute();
}

export function listEventsFor(db: Db, targetKind: string, targetId: string) {
  return db
    .selectFrom('events')
    .selectAll()
    .where('target_kind', '=', targetKind)
    .where('target_id', '=', targetId)
    .orderBy('id')
    .execute();
}

export interface EventFilter {
  since?: Date | undefined;
  until?: Date | undefined;
  /** Exact kinds (`node.lost`), or every kind of a family with a trailing dot (`workload.`). */
  kinds?: readonly string[] | undefined;
  actor?: string | undefined;
  targetKind?: string | undefined;
  /** Target ids (a name resolves to the ids it has had). */
  targetIds?: readonly string[] | undefined;
  /** Only events after this id (for following). */
  afterId?: number | undefined;
  /** Only what this team may see: its workloads, services, queues and itself, and the fleet's nodes. */
  teamId?: string | undefined;
  limit: number;
}

/** The newest `limit` events that pass the filter, oldest first. */
export async function listEvents(db: Db, f: EventFilter) {
  let q = db.selectFrom('events').selectAll();
  if (f.since) q = q.where('at', '>=', f.since);
  if (f.until) q = q.where('at', '<', f.until);
  if (f.afterId !== undefined) q = q.where('id', '>', f.afterId);
  if (f.actor !== undefined) q = q.where('actor', '=', f.actor);
  if (f.targetKind !== undefined) q = q.where('target_kind', '=', f.targetKind);
  if (f.targetIds !== undefined) q = f.targetIds.length === 0 ? q.where(sql<boolean>`false`) : q.where('target_id', 'in', f.targetIds);
  const kinds = f.kinds;
  if (kinds !== undefined && kinds.length > 0)
    q = q.where((eb) => eb.or(kinds.map((k) => (k.endsWith('.') ? eb('kind', 'like', `${k.replace(/[\\%_]/g, '\\$&')}%`) : eb('kind', '=', k)))));
  const teamId = f.teamId;
  if (teamId !== undefined)
    q = q.where((eb) =>
      eb.or([
        eb('target_kind', '=', 'node'),
        eb('target_kind', '=', 'cluster'),
        eb.and([eb('target_kind', '=', 'team'), eb('target_id', '=', teamId)]),
        eb.and([eb('target_kind', '=', 'workload'), eb('target_id', 'in', eb.selectFrom('workloads').select('workloads.id').where('workloads.team_id', '=', teamId))]),
        eb.and([eb('target_kind', '=', 'service'), eb('target_id', 'in', eb.selectFrom('services').select('services.id').where('services.team_id', '=', teamId))]),
        eb.and([eb('target_kind', '=', 'queue'), eb('target_id', 'in', eb.selectFrom('queues').select('queues.id').where('queues.team_id', '=', teamId))]),
      ]),
    );
  const rows = await q.orderBy('id', 'desc').limit(f.limit).execute();
  return rows.reverse();
}

/** The name of each target, by kind and id; targets gone from their table keep no name. */
export async function targetNames(db: Db, targets: ReadonlyArray<{ target_kind: string; target_id: string }>): Promise<Map<string, string>> {
  const ids = (kind: string) => [...new Set(targets.filter((t) => t.target_kind === kind).map((t) => t.target_id))];
  const tables = { workload: 'workloads', node: 'nodes', service: 'services', queue: 'queues', team: 'teams', cluster: 'clusters' } as const;
  const names = new Map<string, string>();
  await Promise.all(
    Object.entries(tables).map(async ([kind, table]) => {
      const wanted = ids(kind);
      if (wanted.length === 0) return;
      const rows = await db.selectFrom(table).select(['id', 'name']).where('id', 'in', wanted).execute();
      for (const r of rows) names.set(`${kind}/${r.id}`, r.name);
    }),
  );
  return names;
}

/** Ids a target of this kind has had under this name (names repeat once earlier holders are gone). */
export async function targetIdsNamed(db: Db, kind: string, name: string): Promise<string[]> {
  const tables: Record<string, 'workloads' | 'nodes' | 'services' | 'queues' | 'teams' | 'clusters'> = {
    workload: 'workloads',
    node: 'nodes',
    service: 'services',
    queue: 'queues',
    team: 'teams',
    cluster: 'clusters',
  };
  const table = tables[kind];
  if (table === undefined) return [];
  return (await db.selectFrom(table).select('id').where('name', '=', name).execute()).map((r) => r.id);
}
