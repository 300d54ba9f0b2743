import { sql } from 'kysely';
import type { Db } from './db.js';
import type { QueueRow } from './schema.js';
import type { Quota } from '../core/api-types.js';
import { activeReplicaStates } from '../core/replica-state.js';

/** Quotas stored before quotas had a resource and a lending limit read as GPU quotas lending everything. */
function withQuotaDefaults<T extends QueueRow | undefined>(row: T): T {
  if (row === undefined) return row;
  const quotas = (row.quotas as Array<Partial<Quota> & Pick<Quota, 'gpuModel' | 'guaranteed' | 'limit' | 'overQuotaWeight'>>).map((q) => ({
    resource: q.resource ?? 'gpus',
    gpuModel: q.gpuModel,
    guaranteed: q.guaranteed,
    limit: q.limit,
    overQuotaWeight: q.overQuotaWeight,
    lendingLimit: q.lendingLimit ?? null,
  }));
  return { ...row, quotas };
}

export async function getQueueByName(db: Db, name: string): Promise<QueueRow | undefined> {
  return withQuotaDefaults(await db.selectFrom('queues').selectAll().where('name', '=', name).executeTakeFirst());
}

export async function getQueueById(db: Db, id: string): Promise<QueueRow | undefined> {
  return withQuotaDefaults(await db.selectFrom('queues').selectAll().where('id', '=', id).executeTakeFirst());
}

export async function listQueues(db: Db, teamId?: string): Promise<QueueRow[]> {
  let q = db.selectFrom('queues').selectAll().orderBy('name');
  if (teamId !== undefined) q = q.where('team_id', '=', teamId);
  return (await q.execute()).map(withQuotaDefaults);
}

export function countChildQueues(db: Db, id: string): Promise<number> {
  return db
    .selectFrom('queues')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('parent_id', '=', id)
    .executeTakeFirstOrThrow()
    .then((r) => Number(r.n));
}

export function insertQueue(
  db: Db,
  queue: { id: string; name: string; teamId: string; parentId?: string | null; priority: number; quotas: Quota[] },
): Promise<QueueRow> {
  return db
    .insertInto('queues')
    .values({
      id: queue.id,
      name: queue.name,
      team_id: queue.teamId,
      parent_id: queue.parentId ?? null,
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
  patch: { teamId: string; parentId: string | null; priority: number; quotas: Quota[] },
): Promise<QueueRow | undefined> {
  return db
    .updateTable('queues')
    .set({
      team_id: patch.teamId,
      parent_id: patch.parentId,
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

/** GPUs held by each queue's active replicas, by GPU model (a fractional replica counts its share): the quota charge. */
export async function queueUsage(db: Db): Promise<Map<string, Record<string, number>>> {
  const rows = await sql<{ queue_id: string; model: string; n: number }>`
    select w.queue_id, r.gpu_model as model,
      sum(coalesce(r.gpu_fraction, jsonb_array_length(r.gpu_indices)))::float8 as n
    from replicas r
    join workloads w on w.id = r.workload_id
    where r.state in (${sql.join(activeReplicaStates)}) and r.gpu_model is not null
    group by w.queue_id, r.gpu_model`.execute(db);
  const usage = new Map<string, Record<string, number>>();
  for (const row of rows.rows) {
    const entry = usage.get(row.queue_id) ?? {};
    entry[row.model] = Number(row.n);
    usage.set(row.queue_id, entry);
  }
  return usage;
}
