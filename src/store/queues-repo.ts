import { sql } from 'kysely';
import type { Db } from './db.js';
import type { QueueRow } from './schema.js';
import type { Quota } from '../core/api-types.js';
import { activeReplicaStates } from '../core/replica-state.js';

export function getQueueByName(db: Db, name: string): Promise<QueueRow | undefined> {
  return db.selectFrom('queues').selectAll().where('name', '=', name).executeTakeFirst();
}

export function listQueues(db: Db, teamId?: string): Promise<QueueRow[]> {
  let q = db.selectFrom('queues').selectAll().orderBy('name');
  if (teamId !== undefined) q = q.where('team_id', '=', teamId);
  return q.execute();
}

export function insertQueue(
  db: Db,
  queue: { id: string; name: string; teamId: string; priority: number; quotas: Quota[] },
): Promise<QueueRow> {
  return db
    .insertInto('queues')
    .values({
      id: queue.id,
      name: queue.name,
      team_id: queue.teamId,
      parent_id: null,
      priority: queue.priority,
      quotas: JSON.stringify(queue.quotas),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Updates only if the row is still at `version`; undefined means someone else changed it first. */
export function updateQueue(
  db: Db,
  id: string,
  version: number,
  patch: { teamId: string; priority: number; quotas: Quota[] },
): Promise<QueueRow | undefined> {
  return db
    .updateTable('queues')
    .set({
      team_id: patch.teamId,
      priority: patch.priority,
      quotas: JSON.stringify(patch.quotas),
      version: sql`version + 1`,
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteQueue(db: Db, id: string): Promise<boolean> {
  const rows = await db.deleteFrom('queues').where('id', '=', id).returning('id').execute();
  return rows.length > 0;
}

export function countQueuesOfTeam(db: Db, teamId: string): Promise<number> {
  return db
    .selectFrom('queues')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('team_id', '=', teamId)
    .executeTakeFirstOrThrow()
    .then((r) => Number(r.n));
}

/** GPUs held by each queue's active replicas, by GPU model: the quota charge. */
export async function queueUsage(db: Db): Promise<Map<string, Record<string, number>>> {
  const rows = await sql<{ queue_id: string; model: string; n: number }>`
    select w.queue_id, g.model, count(*)::int as n
    from replicas r
    join workloads w on w.id = r.workload_id
    cross join lateral jsonb_array_elements_text(r.gpu_indices) as gi(idx)
    join gpus g on g.node_id = r.node_id and g.idx = gi.idx::int
    where r.state in (${sql.join(activeReplicaStates)})
    group by w.queue_id, g.model`.execute(db);
  const usage = new Map<string, Record<string, number>>();
  for (const row of rows.rows) {
    const entry = usage.get(row.queue_id) ?? {};
    entry[row.model] = Number(row.n);
    usage.set(row.queue_id, entry);
  }
  return usage;
}
