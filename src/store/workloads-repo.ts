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

/** The columns the scheduler reads of a workload; the spec (command, env) stays in the table. */
const schedulingColumns = [
  'id', 'name', 'queue_id', 'state', 'priority', 'preemptible', 'replicas', 'gpus', 'gpu_fraction', 'gpu_memory_mib', 'gpu_model', 'gpu_models',
  'cpus', 'memory_mib', 'topology_required', 'topology_preferred', 'time_limit_seconds', 'created_at', 'started_at', 'admitted_at',
  'generation', 'attempts', 'version', 'reason', 'reasons', 'preempted_for', 'claimed_at', 'restart_at', 'kind', 'cluster',
] as const;

/** What the scheduler needs of each pending workload, in the order it takes them: priority, then age (it sorts only if not). */
export function listPendingWorkloads(db: Db) {
  return db.selectFrom('workloads').select(schedulingColumns).where('state', '=', 'pending').orderBy('priority', 'desc').orderBy('created_at').orderBy('id').execute();
}

export type SchedulingWorkloadRow = Awaited<ReturnType<typeof listPendingWorkloads>>[number];
export type PendingWorkloadRow = SchedulingWorkloadRow;

/** Workloads holding (or releasing) resources: admitted, running, or preempted while their replicas stop. */
export function listPlacedWorkloads(db: Db): Promise<SchedulingWorkloadRow[]> {
  return db.selectFrom('workloads').select(schedulingColumns).where('state', 'in', ['admitted', 'running', 'preempted']).orderBy('created_at').execute();
}

/** Scheduling columns of some workloads, whatever their state. */
export function getSchedulingRows(db: Db, ids: string[]): Promise<SchedulingWorkloadRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.selectFrom('workloads').select(schedulingColumns).where('id', 'in', ids).execute();
}

/**
 * Records why workloads still wait, in one statement: the ranked reasons, and the first as
 * `reason`. The reasons are the scheduler's annotation, not the workload's state, so they do not
 * bump the version: a user's cancel never loses a race to them, and the plan applier's version
 * check still sees every real change.
 */
export async function setPendingReasons(db: Db, reasons: Array<{ id: string; reasons: string[] }>): Promise<void> {
  if (reasons.length === 0) return;
  const values = sql.join(reasons.map((r) => sql`(${r.id}, ${r.reasons[0] ?? null}, ${JSON.stringify(r.reasons)})`));
  await sql`update workloads set reason = v.reason, reasons = v.reasons::jsonb
    from (values ${values}) as v(id, reason, reasons)
    where workloads.id = v.id and workloads.state = 'pending'`.execute(db);
}

/** Records that work was stopped for these pending workloads at `at` (their claim, `claimed_at`); their version stays: a plan made meanwhile may still place them. */
export async function setClaims(db: Db, ids: string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('workloads').set({ claimed_at: at }).where('id', 'in', ids).where('state', '=', 'pending').execute();
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

/** Pending workloads counted by queue name, first reason and whether they sit out a restart delay at `now`. */
export function countPendingByQueueAndReason(db: Db, now: Date) {
  return db
    .selectFrom('workloads')
    .innerJoin('queues', 'queues.id', 'workloads.queue_id')
    .select((eb) => [
      'queues.name as queue',
      'workloads.reason as reason',
      eb.and([eb('workloads.restart_at', 'is not', null), eb('workloads.restart_at', '>', now)]).as('backing_off'),
      eb.fn.countAll<string>().as('count'),
    ])
    .where('workloads.state', '=', 'pending')
    .groupBy(['queues.name', 'workloads.reason', 'backing_off'])
    .execute();
}
