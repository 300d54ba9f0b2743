/**
 * What the scheduler sees and what it decides: plain data, no handles, so the same pure core runs
 * in the server, in tests, in the benchmark and in trace replays.
 *
 * Resources are named by keys: `gpu` (GPUs of any model), `gpu/<model>` (GPUs of one model, e.g.
 * `gpu/H100-80GB`), `cpu` (cores) and `memory` (MiB). A fractional GPU counts as its fraction.
 */
export type ResourceKey = string;

export interface SnapshotGpu {
  index: number;
  /** GPU model, e.g. `H100-80GB`; a MIG instance is its own model, e.g. `H100-80GB-1g.10gb`. */
  model: string;
  memoryMiB: number;
}

export interface SnapshotNode {
  id: string;
  name: string;
  /** Only ready nodes take new work. */
  schedulable: boolean;
  /** Topology and pool labels, e.g. `{rack: r12, nvlink-domain: nvl3, pool: training}`. */
  labels: Record<string, string>;
  /** Allocatable cores and memory; 0 means the node did not say, and then they do not constrain. */
  cpus: number;
  memoryMiB: number;
  gpus: SnapshotGpu[];
}

export interface QueueQuota {
  resource: ResourceKey;
  /** Always available to this queue (the sum over children need not fill the parent's). */
  guaranteed: number;
  /** Most this queue (with its children) may use; null for no limit. */
  limit: number | null;
  /** Share of surplus this queue gets, relative to its siblings. */
  overQuotaWeight: number;
  /** Most of its idle guaranteed quota this queue lends to others; null lends all of it. */
  lendingLimit: number | null;
}

export interface SnapshotQueue {
  id: string;
  name: string;
  /** Queues nest (org → department → project); workloads are submitted to any queue, usually a leaf. */
  parentId: string | null;
  /** Siblings with higher priority are lent surplus first. */
  priority: number;
  quotas: QueueQuota[];
  /**
   * Time-decayed past use by resource key, as an average in resource units: ∫ u(t)·2^(−(now−t)/H) dt
   * divided by H/ln 2, where H is the configured half-life (so steady use of 4 GPUs reads 4).
   */
  decayedUsage: Record<ResourceKey, number>;
}

/** What one replica asks for. */
export interface ReplicaRequest {
  /** Whole GPUs, all on one node. */
  gpus: number;
  /** A share of one GPU (0 < f < 1) instead of whole GPUs; null when whole. */
  gpuFraction: number | null;
  /** GPU memory of one GPU instead of whole GPUs; turned into a fraction of the GPU it lands on. */
  gpuMemoryMiB: number | null;
  cpus: number;
  memoryMiB: number;
}

export interface TopologyRequest {
  /** All replicas within one value of this label (`node` means one node); null for none. */
  required: string | null;
  /** Tried first when no requirement binds; a gang that fits nowhere so still starts spread. */
  preferred: string | null;
}

export interface WorkloadBase {
  id: string;
  name: string;
  queueId: string;
  /** Higher runs first and, within a queue, may preempt lower. */
  priority: number;
  preemptible: boolean;
  /** Replicas of a gang: all start or none do. */
  replicas: number;
  request: ReplicaRequest;
  /** Acceptable GPU models; null accepts any. */
  gpuModels: string[] | null;
  topology: TopologyRequest;
  /** Wall-clock limit in ms; it lets the scheduler reserve and backfill. Null: runs until done. */
  timeLimitMs: number | null;
  /** Submission time, ms since the epoch; FIFO order within equal priority. */
  submittedAt: number;
}

export interface PendingWorkload extends WorkloadBase {
  /**
   * When work was last stopped to make room for it (ms since the epoch), until it starts. Once
   * that work has gone, it goes first to the room it freed (as it was held for it while the work
   * released), and what it is given there is not taken back for others in the same cycle.
   * Null or absent: no claim.
   */
  claimedAt?: number | null;
}

/** Where one replica runs and what it holds there. */
export interface ReplicaAllocation {
  nodeId: string;
  gpuIndices: number[];
  /** The share of its one GPU a fractional replica holds; null for whole GPUs. */
  gpuFraction: number | null;
  /** Model of the GPUs held; null when it holds none. */
  gpuModel: string | null;
  cpus: number;
  memoryMiB: number;
}

export interface RunningWorkload extends WorkloadBase {
  startedAt: number;
  allocations: ReplicaAllocation[];
  /** Told to stop (preempted, cancelled) but still holding its resources until its processes end. */
  releasing: boolean;
  /**
   * The pending workload it was preempted for, when releasing: what it frees is that workload's
   * first, so another cannot take it and force a second round of preemption.
   */
  releasingFor?: string | null;
}

export interface Snapshot {
  nodes: SnapshotNode[];
  queues: SnapshotQueue[];
  running: RunningWorkload[];
  pending: PendingWorkload[];
}

export interface Placement {
  workloadId: string;
  /** One per replica. */
  allocations: ReplicaAllocation[];
}

export type PreemptionKind = 'reclaim' | 'preempt' | 'consolidate';

export interface Preemption {
  workloadId: string;
  kind: PreemptionKind;
  /** The pending workload this makes room for. */
  forWorkloadId: string;
  reason: string;
}

/** A consolidation move: stop a workload here and start it there, so that a blocked gang fits. */
export interface Move {
  workloadId: string;
  forWorkloadId: string;
  to: ReplicaAllocation[];
}

export interface Reservation {
  workloadId: string;
  /** Earliest start, ms since the epoch, from running workloads' time limits. */
  at: number;
  nodeIds: string[];
}

export interface PendingExplanation {
  workloadId: string;
  /** Most relevant first; each a sentence a user can act on. */
  reasons: string[];
}

export interface Plan {
  placements: Placement[];
  /** Workloads to stop and requeue; their resources free up once their processes end. */
  preemptions: Preemption[];
  /** Consolidation moves: carried out when consolidation is `apply`, only proposed when `propose`. */
  moves: Move[];
  reservations: Reservation[];
  pending: PendingExplanation[];
}

/** `fragmentation`: the fragmentation-aware scorer (`fragmentation-scorer.ts`), when the scheduler is given it. */
export type PlacementPolicy = 'binpack' | 'spread' | 'fragmentation';

export interface SchedulerConfig {
  /** Placement policy by pool (the node label `poolLabel`); `default` for the rest. */
  placement: { default: PlacementPolicy; pools: Record<string, PlacementPolicy> };
  poolLabel: string;
  /** How much decayed past use counts against a queue's share of surplus (0 turns time-based fairness off). */
  usageWeight: number;
  /** A workload that started less than this ago is not preempted or reclaimed. */
  minRuntimeMs: number;
  /** How many blocked workloads get a backfill reservation per cycle. */
  reservations: number;
  /**
   * A workload waiting longer than this (since it was submitted) may take the place of work
   * submitted after it, of any queue, that the same cycle placed: nothing that started is
   * stopped for it. Bounds how long fair-share order keeps a queue over its share waiting. Null: never.
   */
  overtakeAfterMs: number | null;
  consolidation: 'off' | 'propose' | 'apply';
}

export const defaultSchedulerConfig: SchedulerConfig = {
  placement: { default: 'fragmentation', pools: {} },
  poolLabel: 'pool',
  usageWeight: 1,
  minRuntimeMs: 60_000,
  reservations: 8,
  overtakeAfterMs: null,
  consolidation: 'apply',
};

export const emptyPlan = (): Plan => ({ placements: [], preemptions: [], moves: [], reservations: [], pending: [] });
