import { GPU } from '../../scheduler/resources.js';
import type { SnapshotNode, SnapshotQueue } from '../../scheduler/types.js';
import { snapshotNodes } from '../inputs/nodes.js';
import type { ClusterSpec, QueueSpec } from '../traces/types.js';

/** A homogeneous replay cluster: `nodes` × `gpusPerNode` GPUs of one model, shared by `queues`. */
export interface ReplayClusterSpec {
  nodes: number;
  gpusPerNode: number;
  gpuModel: string;
  /** Queues and their entitled GPUs (Philly: VCs and their sizes). */
  queues: QueueSpec[];
}

export interface ReplayCluster {
  nodes: SnapshotNode[];
  queues: SnapshotQueue[];
  /** GPUs in the cluster. */
  capacity: number;
  /** The most GPUs on one node: a job asking for more cannot run on one node. */
  largestNode: number;
  /** Each queue's guaranteed GPUs (any model and per model together): its entitled share's weight. */
  entitled: Record<string, number>;
}

/** Philly: 352 nodes × 8 GPUs = 2,816 GPUs (the Helios simulation's node size). */
export const PHILLY_NODES = 352;
export const PHILLY_GPUS_PER_NODE = 8;
export const PHILLY_GPU_MODEL = 'P100-16GB';

/** Each queue a root guaranteed its size on `gpu`, with no limit: the queues share the whole pool. */
export function rootQueues(queues: readonly QueueSpec[]): SnapshotQueue[] {
  return queues.map((q) => ({
    id: q.name,
    name: q.name,
    parentId: null,
    priority: 0,
    quotas: [{ resource: GPU, guaranteed: q.gpus, limit: null, overQuotaWeight: 1, lendingLimit: null }],
    decayedUsage: {},
  }));
}

/** The homogeneous cluster of `spec`, nodes named `node-000`… so that name order is numeric order. */
export function buildCluster(spec: ReplayClusterSpec): ReplayCluster {
  if (!Number.isInteger(spec.nodes) || spec.nodes <= 0) throw new Error(`nodes must be a positive integer, got ${spec.nodes}`);
  if (!Number.isInteger(spec.gpusPerNode) || spec.gpusPerNode <= 0) throw new Error(`gpusPerNode must be a positive integer, got ${spec.gpusPerNode}`);
  const width = String(spec.nodes - 1).length;
  const nodes = Array.from({ length: spec.nodes }, (_, n) => ({
    name: `node-${String(n).padStart(width, '0')}`,
    gpus: spec.gpusPerNode,
    gpuModel: spec.gpuModel,
    cpuMilli: 0,
    memoryMiB: 0,
    labels: {},
  }));
  return clusterOf({ nodes }, rootQueues(spec.queues));
}

/** The scheduler's view of a cluster spec (hand-written or from a trace's node list) shared by `queues`. */
export function clusterOf(spec: ClusterSpec, queues: SnapshotQueue[]): ReplayCluster {
  if (spec.nodes.length === 0) throw new Error('the cluster has no nodes');
  const nodes = snapshotNodes(spec);
  const names = new Set<string>();
  for (const n of nodes) {
    if (names.has(n.name)) throw new Error(`node ${n.name} is named twice`);
    names.add(n.name);
  }
  const entitled: Record<string, number> = {};
  for (const q of queues) entitled[q.id] = q.quotas.filter((quota) => quota.resource === GPU || quota.resource.startsWith(`${GPU}/`)).reduce((sum, quota) => sum + quota.guaranteed, 0);
  return {
    nodes,
    queues,
    capacity: nodes.reduce((sum, n) => sum + n.gpus.length, 0),
    largestNode: nodes.reduce((most, n) => Math.max(most, n.gpus.length), 0),
    entitled,
  };
}
