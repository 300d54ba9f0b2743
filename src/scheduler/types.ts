import type { Quota } from '../core/api-types.js';

/** What the scheduler sees: plain data, no handles, so the same core runs in the server, tests and simulations. */
export interface SnapshotGpu {
  index: number;
  model: string;
  memoryMiB: number;
}

export interface SnapshotNode {
  id: string;
  name: string;
  /** Only ready nodes take new work. */
  schedulable: boolean;
  gpus: SnapshotGpu[];
  /** GPU indices held by active replicas. */
  usedGpuIndices: number[];
}

export interface SnapshotQueue {
  id: string;
  name: string;
  priority: number;
  quotas: Quota[];
  /** GPUs in use by this queue's active replicas, by GPU model. */
  usage: Record<string, number>;
}

export interface PendingWorkload {
  id: string;
  name: string;
  queueId: string;
  priority: number;
  gpus: number;
  gpuModel: string | null;
  /** Submission time in ms since the epoch; FIFO order within equal priority. */
  submittedAt: number;
}

export interface Snapshot {
  nodes: SnapshotNode[];
  queues: SnapshotQueue[];
  pending: PendingWorkload[];
}

export interface Placement {
  workloadId: string;
  nodeId: string;
  gpuIndices: number[];
  /** Model of the GPUs given (null for a workload that asked for none). */
  gpuModel: string | null;
}

export interface PendingExplanation {
  workloadId: string;
  /** Most relevant first. */
  reasons: string[];
}

export interface Plan {
  placements: Placement[];
  pending: PendingExplanation[];
}
