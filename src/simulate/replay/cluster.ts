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
 * name order is the numeric order; each queue guaranteed its size, with no limit (this slice: the
 * queues share the whole pool; limits and fair share come with the next scheduler).
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
      gpus: Array.from({ length: spec.gpusPerNode }, (_, index) => ({ index, model: spec.gpuModel, memoryMiB: 0 })),
      usedGpuIndices: [],
    });
  }
  const queues: SnapshotQueue[] = spec.queues.map((q) => ({
    id: q.name,
    name: q.name,
    priority: 0,
    quotas: [{ gpuModel: '*', guaranteed: q.gpus, limit: null, overQuotaWeight: 1 }],
    usage: {},
  }));
  return { spec, nodes, queues, capacity: spec.nodes * spec.gpusPerNode };
}
