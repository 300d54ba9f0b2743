import { sql } from 'kysely';
import type { GpuUsageSummary } from '../core/agent-protocol.js';
import type { Db } from './db.js';

/** Stores a node's usage windows; a window sent again (a retried heartbeat) is kept once. */
export async function insertGpuUsage(db: Db, nodeId: string, usage: readonly GpuUsageSummary[]): Promise<void> {
  if (usage.length === 0) return;
  await db
    .insertInto('gpu_usage')
    .values(
      usage.map((u) => ({
        node_id: nodeId,
        gpu_index: u.gpuIndex,
        from_at: new Date(u.from),
        to_at: new Date(u.to),
        replica_id: u.replicaId,
        samples: u.samples,
        activity: u.activity,
        memory_used_mib: u.memoryUsedMiB,
        memory_used_max_mib: u.memoryUsedMaxMiB,
        used: u.used,
      })),
    )
    .onConflict((oc) => oc.columns(['node_id', 'gpu_index', 'from_at']).doNothing())
    .execute();
}

/** Usage windows that end after `since` and start before `until`, with the node's name. */
export function listGpuUsage(db: Db, since: Date, until: Date) {
  return db
    .selectFrom('gpu_usage')
    .innerJoin('nodes', 'nodes.id', 'gpu_usage.node_id')
    .select(['nodes.name as node', 'gpu_usage.gpu_index', 'gpu_usage.from_at', 'gpu_usage.to_at', 'gpu_usage.activity', 'gpu_usage.used'])
    .where('gpu_usage.to_at', '>', since)
    .where('gpu_usage.from_at', '<', until)
    .orderBy('gpu_usage.from_at')
    .execute();
}

/** Deletes windows that ended before `before`; returns how many. */
export async function pruneGpuUsage(db: Db, before: Date): Promise<number> {
  const result = await db.deleteFrom('gpu_usage').where('to_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Replicas that held GPUs at some time in [since, until), with who they belong to: a replica holds
 * its GPUs from its assignment until it ends (finished_at; for an ended one without it, its last update).
 */
export function listGpuAllocations(db: Db, since: Date, until: Date) {
  return db
    .selectFrom('replicas')
    .innerJoin('workloads', 'workloads.id', 'replicas.workload_id')
    .innerJoin('teams', 'teams.id', 'workloads.team_id')
    .innerJoin('queues', 'queues.id', 'workloads.queue_id')
    .innerJoin('nodes', 'nodes.id', 'replicas.node_id')
    .select([
      'replicas.id',
      'replicas.workload_id',
      'workloads.name as workload_name',
      'teams.name as team',
      'queues.name as queue',
      'nodes.name as node',
      'replicas.gpu_indices',
      'replicas.gpu_model',
      'replicas.gpu_fraction',
      'replicas.state',
      'replicas.created_at',
      'replicas.finished_at',
      'replicas.updated_at',
    ])
    .where('replicas.gpu_indices', '!=', sql<number[]>`'[]'::jsonb`)
    .where('replicas.created_at', '<', until)
    .where((eb) => eb.or([eb('replicas.finished_at', 'is', null), eb('replicas.finished_at', '>', since)]))
    .execute();
}

/** Every GPU with its node's name, state, join time and last heartbeat, and the latest sample the node sent. */
export function listGpusWithNodes(db: Db) {
  return db
    .selectFrom('gpus')
    .innerJoin('nodes', 'nodes.id', 'gpus.node_id')
    .select(['nodes.id as node_id', 'nodes.name as node', 'nodes.state', 'nodes.created_at', 'nodes.last_heartbeat_at', 'nodes.gpu_stats', 'nodes.gpu_stats_at', 'gpus.idx', 'gpus.model', 'gpus.memory_mib'])
    .orderBy('nodes.name')
    .orderBy('gpus.idx')
    .execute();
}

/**
 * Every node's labels, those that left the inventory included (their replicas are still costed);
 * a node in the inventory comes after a removed one of the same name, so it wins in a map.
 */
export function listNodeLabels(db: Db) {
  return db.selectFrom('nodes').select(['name', 'labels']).orderBy('removed_at').execute();
}
