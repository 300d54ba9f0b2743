import { sql } from 'kysely';
import type { Db } from './db.js';
import type { ClusterJobCancelRow, ClusterRow, NodeRow } from './schema.js';
import type { ClusterSpec, ClusterStatus } from '../core/cluster-types.js';
import type { Gpu } from '../core/api-types.js';
import type { NodeState } from '../core/node-state.js';
import { activeReplicaStates } from '../core/replica-state.js';
import { replaceGpus } from './nodes-repo.js';

/** The clusters that exist; a deleted one whose jobs are still being cancelled is not among them. */
export function listClusters(db: Db): Promise<ClusterRow[]> {
  return db.selectFrom('clusters').selectAll().where('deleted_at', 'is', null).orderBy('name').execute();
}

/** What the cluster loop keeps in step: the clusters that exist and the deleted ones with jobs left to cancel. */
export function listClustersToSync(db: Db): Promise<ClusterRow[]> {
  return db.selectFrom('clusters').selectAll().orderBy('name').execute();
}

export function getClusterByName(db: Db, name: string): Promise<ClusterRow | undefined> {
  return db.selectFrom('clusters').selectAll().where('name', '=', name).where('deleted_at', 'is', null).executeTakeFirst();
}

/** Whether a deleted cluster still holds the name (until its jobs are cancelled). */
export async function isClusterBeingDeleted(db: Db, name: string): Promise<boolean> {
  return (await db.selectFrom('clusters').select('id').where('name', '=', name).where('deleted_at', 'is not', null).executeTakeFirst()) !== undefined;
}

/**
 * Locks the cluster's row for the rest of the transaction, if it still exists and is not deleted:
 * what syncs its machines and what deletes it take turns, so no machine comes back after a delete.
 */
export async function lockLiveCluster(db: Db, id: string): Promise<boolean> {
  return (await db.selectFrom('clusters').select('id').where('id', '=', id).where('deleted_at', 'is', null).forUpdate().executeTakeFirst()) !== undefined;
}

export async function markClusterDeleted(db: Db, id: string, now: Date): Promise<void> {
  await db.updateTable('clusters').set({ deleted_at: now }).where('id', '=', id).execute();
}

/**
 * The cluster's machines leave the inventory: their GPUs go, the rows stay (marked removed, no
 * longer the cluster's) for the history of the replicas that ran there.
 */
export async function removeClusterNodes(db: Db, clusterId: string, now: Date): Promise<NodeRow[]> {
  const nodes = await listClusterNodes(db, clusterId);
  if (nodes.length === 0) return [];
  const ids = nodes.map((n) => n.id);
  await db.deleteFrom('gpus').where('node_id', 'in', ids).execute();
  await db.updateTable('nodes').set({ removed_at: now, cluster_id: null, version: sql`version + 1`, updated_at: now }).where('id', 'in', ids).execute();
  return nodes;
}

/** Jobs to cancel; a key already listed keeps its job id if the new entry knows none. */
export async function addJobCancels(db: Db, clusterId: string, jobs: Array<{ idempotencyKey: string; externalId: string | null }>): Promise<void> {
  if (jobs.length === 0) return;
  await db
    .insertInto('cluster_job_cancels')
    .values(jobs.map((j) => ({ cluster_id: clusterId, idempotency_key: j.idempotencyKey, external_id: j.externalId })))
    .onConflict((oc) => oc.columns(['cluster_id', 'idempotency_key']).doUpdateSet({ external_id: sql`coalesce(excluded.external_id, cluster_job_cancels.external_id)` }))
    .execute();
}

export function listJobCancels(db: Db, clusterId: string): Promise<ClusterJobCancelRow[]> {
  return db.selectFrom('cluster_job_cancels').selectAll().where('cluster_id', '=', clusterId).orderBy('created_at').execute();
}

export async function removeJobCancel(db: Db, clusterId: string, idempotencyKey: string): Promise<void> {
  await db.deleteFrom('cluster_job_cancels').where('cluster_id', '=', clusterId).where('idempotency_key', '=', idempotencyKey).execute();
}

export function insertCluster(db: Db, cluster: { id: string; name: string; spec: ClusterSpec }): Promise<ClusterRow> {
  return db
    .insertInto('clusters')
    .values({ id: cluster.id, name: cluster.name, backend: cluster.spec.backend, spec: JSON.stringify(cluster.spec) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A new spec is synced afresh: the status goes back to pending until the next sync says otherwise. */
export function updateClusterSpec(db: Db, id: string, version: number, spec: ClusterSpec, now: Date): Promise<ClusterRow | undefined> {
  return db
    .updateTable('clusters')
    .set({ spec: JSON.stringify(spec), backend: spec.backend, status: 'pending', message: null, version: sql`version + 1`, updated_at: now })
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}

export async function setClusterStatus(db: Db, id: string, status: ClusterStatus, message: string | null, syncedAt: Date | null): Promise<void> {
  await db
    .updateTable('clusters')
    .set({ status, message, ...(syncedAt ? { synced_at: syncedAt } : {}) })
    .where('id', '=', id)
    .execute();
}

/**
 * Sets the status and message (and the time of a sync that brought it, if any, in the same update);
 * true only if the status itself changed, so its change is told once.
 */
export async function changeClusterStatus(db: Db, id: string, status: ClusterStatus, message: string | null, syncedAt: Date | null = null): Promise<boolean> {
  const before = await db.selectFrom('clusters').select('status').where('id', '=', id).forUpdate().executeTakeFirst();
  await setClusterStatus(db, id, status, message, syncedAt);
  return before !== undefined && before.status !== status;
}

export async function deleteCluster(db: Db, id: string): Promise<void> {
  await db.deleteFrom('clusters').where('id', '=', id).execute();
}

export function listClusterNodes(db: Db, clusterId?: string): Promise<NodeRow[]> {
  let q = db.selectFrom('nodes').selectAll().where('cluster_id', 'is not', null);
  if (clusterId !== undefined) q = q.where('cluster_id', '=', clusterId);
  return q.orderBy('name').execute();
}

export interface ClusterNodeSync {
  name: string;
  externalName: string;
  state: NodeState;
  cpus: number;
  memoryMiB: number;
  labels: Record<string, string>;
  gpus: Gpu[];
}

/** Creates or refreshes a cluster's machine; its version moves only when what the scheduler sees changed. */
export async function upsertClusterNode(db: Db, id: string, clusterId: string, node: ClusterNodeSync, now: Date): Promise<NodeRow> {
  const columns = { state: node.state, labels: JSON.stringify(node.labels), cpus: node.cpus, memory_mib: node.memoryMiB, last_heartbeat_at: now };
  const existing = await db.selectFrom('nodes').selectAll().where('cluster_id', '=', clusterId).where('external_name', '=', node.externalName).executeTakeFirst();
  let row: NodeRow;
  if (existing) {
    const changed =
      existing.state !== node.state || existing.cpus !== node.cpus || Number(existing.memory_mib) !== node.memoryMiB || JSON.stringify(existing.labels) !== columns.labels;
    row = await db
      .updateTable('nodes')
      .set({ ...columns, ...(changed ? { version: sql`version + 1`, updated_at: now } : {}) })
      .where('id', '=', existing.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  } else {
    row = await db
      .insertInto('nodes')
      .values({ id, name: node.name, simulated: false, agent_version: '', credential_hash: '', cluster_id: clusterId, external_name: node.externalName, ...columns })
      .returningAll()
      .executeTakeFirstOrThrow();
  }
  await replaceGpus(db, row.id, node.gpus);
  return row;
}

/** Every replica on a cluster's machines still holding resources, with what a launch needs. */
export function listClusterReplicas(db: Db, clusterId: string) {
  return db
    .selectFrom('replicas as r')
    .innerJoin('nodes as n', 'n.id', 'r.node_id')
    .innerJoin('workloads as w', 'w.id', 'r.workload_id')
    .select([
      'r.id',
      'r.version',
      'r.generation',
      'r.state',
      'r.desired',
      'r.external_id',
      'r.gpu_indices',
      'r.gpu_model',
      'r.cpus',
      'r.memory_mib',
      'r.node_id',
      'n.external_name',
      'w.id as workload_id',
      'w.name as workload_name',
      'w.spec',
      'w.time_limit_seconds',
    ])
    .where('n.cluster_id', '=', clusterId)
    .where('r.state', 'in', activeReplicaStates)
    .orderBy('r.created_at')
    .execute();
}
export type ClusterReplicaRow = Awaited<ReturnType<typeof listClusterReplicas>>[number];

/** The byte count already stored per stream of a replica's output: where the next read starts. */
export async function storedLogBytes(db: Db, replicaId: string): Promise<{ stdout: number; stderr: number }> {
  const rows = await db
    .selectFrom('log_chunks')
    .select(['stream', sql<number>`max(byte_offset + octet_length(data))`.as('end')])
    .where('replica_id', '=', replicaId)
    .groupBy('stream')
    .execute();
  const end = (stream: string) => Number(rows.find((r) => r.stream === stream)?.end ?? 0);
  return { stdout: end('stdout'), stderr: end('stderr') };
}

/** Records the plane's id for a replica once; a later pass that finds the same job changes nothing. */
export async function recordExternalId(db: Db, replicaId: string, externalId: string): Promise<void> {
  await db.updateTable('replicas').set({ external_id: externalId }).where('id', '=', replicaId).where('external_id', 'is', null).execute();
}

/**
 * Sets (or, with null, clears) the reason shown on the admitted and running workloads of a
 * cluster, while the cluster cannot be reached. Clearing touches only reasons that start with
 * `prefix`, so a reason written for anything else stays.
 */
export async function setClusterWorkloadsReason(db: Db, clusterId: string, prefix: string, reason: string | null): Promise<void> {
  let q = db
    .updateTable('workloads')
    .set({ reason })
    .where('state', 'in', ['admitted', 'running'])
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('replicas as r')
        .innerJoin('nodes as n', 'n.id', 'r.node_id')
        .select('r.workload_id')
        .where('n.cluster_id', '=', clusterId)
        .where('r.state', 'in', activeReplicaStates),
    );
  if (reason === null) q = q.where('reason', 'like', `${prefix}%`);
  await q.execute();
}
