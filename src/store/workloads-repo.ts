import { sql } from 'kysely';
import type { Db } from './db.js';
import type { NewWorkload, WorkloadRow, WorkloadUpdate } from './schema.js';
import { terminalWorkloadStates, type WorkloadState } from '../core/workload-state.js';

export function insertWorkload(db: Db, row: NewWorkload): Promise<WorkloadRow> {
  return db.insertInto('workloads').values(row).returningAll().executeTakeFirstOrThrow();
}

export function getWorkload(db: Db, id: string): Promise<WorkloadRow | undefined> {
  return db.selectFrom('workloads').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The newest workload of that name in the team: names repeat once earlier holders have finished. */
export function findWorkloadByName(db: Db, teamId: string, name: string): Promise<WorkloadRow | undefined> {
  return db
    .selectFrom('workloads')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('name', '=', name)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Workloads of that name in any team, newest first: for an admin who names one without its team. */
export function listWorkloadsNamed(db: Db, name: string): Promise<WorkloadRow[]> {
  return db.selectFrom('workloads').selectAll().where('name', '=', name).orderBy('created_at', 'desc').execute();
}

export interface WorkloadFilter {
  teamId?: string | undefined;
  state?: WorkloadState | undefined;
  activeOnly?: boolean;
  limit: number;
}

export function listWorkloads(db: Db, filter: WorkloadFilter): Promise<WorkloadRow[]> {
  let q = db.selectFrom('workloads').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(filter.limit);
  if (filter.teamId !== undefined) q = q.where('team_id', '=', filter.teamId);
  if (filter.state !== undefined) q = q.where('state', '=', filter.state);
  if (filter.activeOnly) q = q.where('state', 'not in', terminalWorkloadStates);
  return q.execute();
}

/** What the scheduler needs of each pending workload; the spec stays in the table. */
export function listPendingWorkloads(db: Db) {
  return db
    .selectFrom('workloads')
    .select(['id', 'name', 'queue_id', 'priority', 'gpus', 'gpu_model', 'created_at', 'version', 'reason'])
    .where('state', '=', 'pending')
    .orderBy('created_at')
    .execute();
}

export type PendingWorkloadRow = Awaited<ReturnType<typeof listPendingWorkloads>>[number];

/**
 * Records why workloads still wait, in one statement. The reason is the scheduler's annotation,
 * not the workload's state, so it does not bump the version: a user's cancel never loses a race
 * to it, and the plan applier's version check still sees every real change.
 */
export async function setPendingReasons(db: Db, reasons: Array<{ id: string; reason: string }>): Promise<void> {
  if (reasons.length === 0) return;
  const values = sql.join(reasons.map((r) => sql`(${r.id}, ${r.reason})`));
  await sql`update workloads set reason = v.reason
    from (values ${values}) as v(id, reason)
    where workloads.id = v.id and workloads.state = 'pending'`.execute(db);
}

export function countActiveWorkloads(db: Db, column: 'team_id' | 'queue_id', id: string): Promise<number> {
  return db
    .selectFrom('workloads')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(column, '=', id)
    .where('state', 'not in', terminalWorkloadStates)
    .executeTakeFirstOrThrow()
    .then((r) => Number(r.n));
}

/**
 * Writes `patch` only if the workload is still at `version` (optimistic concurrency); returns the
 * new row, or undefined when another writer got there first.
 */
export function updateWorkloadAt(db: Db, id: string, version: number, patch: WorkloadUpdate): Promise<WorkloadRow | undefined> {
  return db
    .updateTable('workloads')
    .set({ ...patch, version: sql`version + 1`, updated_at: new Date() })
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}
