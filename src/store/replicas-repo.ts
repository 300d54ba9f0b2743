import { sql } from 'kysely';
import type { Db } from './db.js';
import type { ReplicaRow } from './schema.js';
import { activeReplicaStates, type ReplicaState } from '../core/replica-state.js';

export function insertReplica(
  db: Db,
  replica: { id: string; workloadId: string; nodeId: string; generation: number; gpuIndices: number[] },
): Promise<ReplicaRow> {
  return db
    .insertInto('replicas')
    .values({
      id: replica.id,
      workload_id: replica.workloadId,
      node_id: replica.nodeId,
      generation: replica.generation,
      state: 'assigned',
      desired: 'run',
      gpu_indices: JSON.stringify(replica.gpuIndices),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function getReplicas(db: Db, ids: string[]): Promise<ReplicaRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.selectFrom('replicas').selectAll().where('id', 'in', ids).execute();
}

export function listActiveReplicas(db: Db, nodeId?: string): Promise<ReplicaRow[]> {
  let q = db.selectFrom('replicas').selectAll().where('state', 'in', activeReplicaStates);
  if (nodeId !== undefined) q = q.where('node_id', '=', nodeId);
  return q.execute();
}

export function listReplicasOfWorkloads(db: Db, workloadIds: string[]): Promise<ReplicaRow[]> {
  if (workloadIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('replicas')
    .selectAll()
    .where('workload_id', 'in', workloadIds)
    .orderBy('created_at', 'desc')
    .execute();
}

/** The replicas an agent must know about: everything still holding GPUs on its node. */
export function listAssignmentsForNode(db: Db, nodeId: string) {
  return db
    .selectFrom('replicas as r')
    .innerJoin('workloads as w', 'w.id', 'r.workload_id')
    .innerJoin('teams as t', 't.id', 'w.team_id')
    .innerJoin('queues as q', 'q.id', 'w.queue_id')
    .select(['r.id', 'r.generation', 'r.desired', 'r.gpu_indices', 'r.state', 'w.id as workload_id', 'w.name as workload_name', 'w.spec', 't.name as team_name', 'q.name as queue_name'])
    .where('r.node_id', '=', nodeId)
    .where('r.state', 'in', activeReplicaStates)
    .orderBy('r.created_at')
    .execute();
}

export function updateReplicaAt(
  db: Db,
  id: string,
  version: number,
  patch: {
    state?: ReplicaState;
    desired?: 'run' | 'stop';
    exit_code?: number | null;
    message?: string | null;
    started_at?: Date;
    finished_at?: Date;
  },
): Promise<ReplicaRow | undefined> {
  return db
    .updateTable('replicas')
    .set({ ...patch, version: sql`version + 1`, updated_at: new Date() })
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}
