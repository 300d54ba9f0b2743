import { sql } from 'kysely';
import type { Db } from './db.js';
import type { Insertable, Updateable } from 'kysely';
import type { ReplicaRow, ServiceRow, ServicesTable, WorkloadRow } from './schema.js';
import { terminalWorkloadStates } from '../core/workload-state.js';
import { activeReplicaStates } from '../core/replica-state.js';

export function insertService(db: Db, row: Insertable<ServicesTable>): Promise<ServiceRow> {
  return db.insertInto('services').values(row).returningAll().executeTakeFirstOrThrow();
}

/** The live (not deleted) service of that name in the team. */
export function findServiceByName(db: Db, teamId: string, name: string): Promise<ServiceRow | undefined> {
  return db.selectFrom('services').selectAll().where('team_id', '=', teamId).where('name', '=', name).where('deleted_at', 'is', null).executeTakeFirst();
}

/** Live services, by name; all teams when teamId is undefined. */
export function listServices(db: Db, teamId?: string): Promise<ServiceRow[]> {
  let q = db.selectFrom('services').selectAll().where('deleted_at', 'is', null).orderBy('name').orderBy('id');
  if (teamId !== undefined) q = q.where('team_id', '=', teamId);
  return q.execute();
}

/** Writes `patch` only at `version` (optimistic concurrency); undefined when another writer got there first. */
export function updateServiceAt(db: Db, id: string, version: number, patch: Updateable<ServicesTable>): Promise<ServiceRow | undefined> {
  return db
    .updateTable('services')
    .set({ ...patch, version: sql`version + 1`, updated_at: new Date() })
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}

/** The replicas (workloads) of these services that are not finished, by slot. */
export function listServiceWorkloads(db: Db, serviceIds: string[]): Promise<WorkloadRow[]> {
  if (serviceIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('workloads')
    .selectAll()
    .where('service_id', 'in', serviceIds)
    .where('state', 'not in', terminalWorkloadStates)
    .orderBy('service_index')
    .execute();
}

/** The placements of these workloads' current generations, while they still hold their GPUs. */
export function listCurrentReplicas(db: Db, workloads: WorkloadRow[]): Promise<ReplicaRow[]> {
  if (workloads.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('replicas as r')
    .innerJoin('workloads as w', 'w.id', 'r.workload_id')
    .selectAll('r')
    .where('r.workload_id', 'in', workloads.map((w) => w.id))
    .whereRef('r.generation', '=', 'w.generation')
    .where('r.state', 'in', activeReplicaStates)
    .execute();
}
