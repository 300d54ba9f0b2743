import { sql } from 'kysely';
import type { Db } from './db.js';
import type { ReplicaRow } from './schema.js';
import { activeReplicaStates, type ReplicaState } from '../core/replica-state.js';

export interface NewReplica {
  id: string;
  workloadId: string;
  nodeId: string;
  generation: number;
  gpuIndices: number[];
  /** Position in its gang, 0-based. */
  index?: number;
  gpuModel?: string | null;
  gpuFraction?: number | null;
  gpuMemoryMiB?: number | null;
  cpus?: number;
  memoryMiB?: number;
}

export function insertReplica(db: Db, replica: NewReplica): Promise<ReplicaRow> {
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
      replica_index: replica.index ?? 0,
      gpu_model: replica.gpuModel ?? null,
      gpu_fraction: replica.gpuFraction ?? null,
      gpu_memory_mib: replica.gpuMemoryMiB ?? null,
      cpus: replica.cpus ?? 0,
      memory_mib: replica.memoryMiB ?? 0,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Replicas that ran at some point since `since` (still active, or finished after it), with their queue: fair share's input. */
export function listReplicasRunSince(db: Db, since: Date): Promise<Array<ReplicaRow & { queue_id: string }>> {
  return db
    .selectFrom('replicas as r')
    .innerJoin('workloads as w', 'w.id', 'r.workload_id')
    .selectAll('r')
    .select('w.queue_id')
    .where('r.started_at', 'is not', null)
    .where((eb) => eb.or([eb('r.finished_at', 'is', null), eb('r.finished_at', '>', since)]))
    .execute();
}

/** Every replica still holding resources, with its workload's queue and state: what the applier charges. */
export function listActiveReplicasWithQueue(db: Db): Promise<Array<ReplicaRow & { queue_id: string }>> {
  return db
    .selectFrom('replicas as r')
    .innerJoin('workloads as w', 'w.id', 'r.workload_id')
    .selectAll('r')
    .select('w.queue_id')
    .where('r.state', 'in', activeReplicaStates)
    .execute();
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
    .select(['r.id', 'r.generation', 'r.desired', 'r.gpu_indices', 'r.state', 'r.replica_index', 'r.gpu_fraction', 'r.gpu_memory_mib', 'w.replicas', 'w.id as workload_id', 'w.name as workload_name', 'w.spec', 't.name as team_name', 'q.name as queue_name'])
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
    external_id?: string | null;
    message?: string | null;
    started_at?: Date;
    finished_at?: Date;
    endpoint?: string | null;
    ready?: boolean;
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
