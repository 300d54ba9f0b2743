import type { SnapshotNode, SnapshotQueue } from '../../scheduler/types.js';
import type { QueueSpec } from '../traces/types.js';

/** A homogeneous replay cluster: `nodes` × `gpusPerNode` GPUs of one model, shared by `queues`. */
export interface ReplayClusterSpec {
  nodes: number;
  gpusPerNode: number;
  gpuModel: string;
  /** Queues and their entitled GPUs (Philly: VCs and their sizes). */
  queues: QueueSpec[];
}

export interface ReplayCluster {
  spec: ReplayClusterSpec;
  nodes: SnapshotNode[];
  queues: SnapshotQueue[];
  capacity: number;
}

/** Philly: 352 nodes × 8 GPUs = 2,816 GPUs (the Helios simulation's node size). */
export const PHILLY_NODES = 352;
export const PHILLY_GPUS_PER_NODE = 8;
export const PHILLY_GPU_MODEL = 'P100-16GB';

/**
 * Builds the scheduler's view of the cluster: node names zero-padded so that `scheduleFifo`'s
 * name order is the numeric order; no labels, cores or memory (they do not constrain); each queue
 * a root guaranteed its size on `gpu`, with no limit (this slice: the queues share the whole pool).
 */
export function buildCluster(spec: ReplayClusterSpec): ReplayCluster {
  if (!Number.isInteger(spec.nodes) || spec.nodes <= 0) throw new Error(`nodes must be a positive integer, got ${spec.nodes}`);
  if (!Number.isInteger(spec.gpusPerNode) || spec.gpusPerNode <= 0) throw new Error(`gpusPerNode must be a positive integer, got ${spec.gpusPerNode}`);
  const width = String(spec.nodes - 1).length;
  const nodes: SnapshotNode[] = [];
  for (let n = 0; n < spec.nodes; n++) {
    const name = `node-${String(n).padStart(width, '0')}`;
    nodes.push({
      id: name,
      name,
      schedulable: true,
      labels: {},
      cpus: 0,
      memoryMiB: 0,
      gpus: Array.from({ length: spec.gpusPerNode }, (_, index) => ({ index, model: spec.gpuModel, memoryMiB: 0 })),
    });
  }
  const queues: SnapshotQueue[] = spec.queues.map((q) => ({
    id: q.name,
    name: q.name,
    parentId: null,
    priority: 0,
    quotas: [{ resource: 'gpu', guaranteed: q.gpus, limit: null, overQuotaWeight: 1, lendingLimit: null }],
    decayedUsage: {},
  }));
  return { spec, nodes, queues, capacity: spec.nodes * spec.gpusPerNode };
}
