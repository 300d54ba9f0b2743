/**
 * Queueing replay: jobs arrive at their submit times and run for their durations on a simulated
 * cluster, placed by the production scheduler core: `schedule()` itself for gpufleet-default, the
 * FIFO core (src/scheduler/fifo.ts) in the order of the baseline policies. See simulator.ts.
 */
import type { TraceJob } from '../traces/types.js';
import { buildCluster, type ReplayCluster, type ReplayClusterSpec } from './cluster.js';
import { declaredLimit, type DeclaredLimits } from './declared-limits.js';
import { compressArrivals, compressionFactor, offeredLoad } from './load.js';
import { computeMetrics, type ReplayMetrics } from './metrics.js';
import { simulate, type ReplayPolicyName, type SimJobInput, type SimOptions, type SimResult } from './simulator.js';

export { EventQueue } from './events.js';
export { buildCluster, clusterOf, rootQueues, PHILLY_GPUS_PER_NODE, PHILLY_GPU_MODEL, PHILLY_NODES, type ReplayCluster, type ReplayClusterSpec } from './cluster.js';
export { compressArrivals, compressionFactor, offeredLoad } from './load.js';
export { bucketize, computeMetrics, dist, type Dist, type QueueMetrics, type ReplayMetrics } from './metrics.js';
export { FAIRNESS_DEFINITION, fairAllocation, jainIndex, windowedFairness, type Fairness } from './fairness.js';
export { simulate, type QueueSeries, type ReplayPolicyName, type SimJobInput, type SimOptions, type SimResult } from './simulator.js';
export { DecayedUsage, type UsageRun } from './usage.js';
export { declaredLimit, parseDeclaredLimits, type DeclaredLimits } from './declared-limits.js';

export const REPLAY_POLICIES: readonly ReplayPolicyName[] = ['fifo', 'sjf', 'tiresias-las', 'gpufleet-default'];

export interface ReplayOptions extends SimOptions {
  /**
   * Jobs asking for more GPUs than one node has (scheduleFifo places on one node only):
   * `drop` leaves them out; `cap` gives them one node's GPUs for the same duration. Either way
   * they are counted in `oversize`. Default `drop`.
   */
  oversize?: 'drop' | 'cap';
  /** Compress (or stretch) arrivals to this offered load (0..); null = as in the trace. */
  targetLoad?: number | null;
  /** Buckets of the allocation-over-time series (default 50). */
  buckets?: number;
  /** Seconds per time window of the fairness index (default 3600). */
  fairnessWindowSeconds?: number;
  /**
   * Time limits for jobs whose trace gives none (an assumption, as SJF's known runtimes are): each
   * declares its duration × `factor`, rounded up to a whole multiple of `roundUpSeconds`. With
   * limits the production scheduler can reserve nodes for blocked work and backfill around them
   * (docs/scheduler.md, Backfill). Default null: no limits beyond the trace's own.
   */
  declaredLimits?: DeclaredLimits | null;
}

export interface ReplayResult {
  policy: ReplayPolicyName;
  oversize: { mode: 'drop' | 'cap'; count: number };
  /** Jobs asking for no GPU, left out. */
  zeroGpu: number;
  offeredLoad: number;
  compressionFactor: number;
  metrics: ReplayMetrics;
  sim: SimResult;
  seconds: number;
}

/** Prepares the jobs once (oversize, compression); reused by every policy of a comparison. */
export function prepareJobs(
  jobs: readonly TraceJob[],
  cluster: ReplayCluster,
  opts: Pick<ReplayOptions, 'oversize' | 'targetLoad' | 'declaredLimits'>,
): { inputs: SimJobInput[]; oversize: number; zeroGpu: number; offeredLoad: number; factor: number } {
  const perNode = cluster.largestNode;
  const queues = new Set(cluster.queues.map((q) => q.id));
  let zeroGpu = 0;
  const mode = opts.oversize ?? 'drop';
  let oversize = 0;
  let inputs: SimJobInput[] = [];
  for (const j of jobs) {
    if (j.gpuFraction !== null) throw new Error(`job ${j.id}: fractional GPUs are not supported by the queueing replay`);
    if (!Number.isFinite(j.duration)) throw new Error(`job ${j.id}: the queueing replay needs a finite duration`);
    if (!queues.has(j.queue)) throw new Error(`job ${j.id}: queue ${j.queue} is not in the cluster's queues`);
    // A job without GPUs never queues for them: this replay is about GPUs, so it is left out (counted).
    if (j.gpus === 0) {
      zeroGpu++;
      continue;
    }
    let gpus = j.gpus;
    if (gpus > perNode) {
      oversize++;
      if (mode === 'drop') continue;
      gpus = perNode;
    }
    const timeLimit = j.timeLimit ?? (opts.declaredLimits ? declaredLimit(j.duration, opts.declaredLimits) : null);
    inputs.push({ id: j.id, queue: j.queue, submitTime: j.submitTime, duration: j.duration, gpus, priority: j.priority ?? 0, timeLimit });
  }
  let factor = 1;
  if (opts.targetLoad != null) {
    factor = compressionFactor(inputs, cluster.capacity, opts.targetLoad);
    inputs = compressArrivals(inputs, factor);
  }
  return { inputs, oversize, zeroGpu, offeredLoad: offeredLoad(inputs, cluster.capacity), factor };
}

export function replayPrepared(
  inputs: readonly SimJobInput[],
  cluster: ReplayCluster,
  opts: ReplayOptions,
  prep: { oversize: number; zeroGpu: number; offeredLoad: number; factor: number },
): ReplayResult {
  const t0 = performance.now();
  const sim = simulate(inputs, cluster, opts);
  const metrics = computeMetrics(sim, cluster.capacity, cluster.entitled, opts.buckets ?? 50, opts.fairnessWindowSeconds ?? 3600);
  return {
    policy: opts.policy,
    oversize: { mode: opts.oversize ?? 'drop', count: prep.oversize },
    zeroGpu: prep.zeroGpu,
    offeredLoad: prep.offeredLoad,
    compressionFactor: prep.factor,
    metrics,
    sim,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** replay(jobs, cluster, {policy, ...}) → result. */
export function replay(jobs: readonly TraceJob[], cluster: ReplayCluster | ReplayClusterSpec, opts: ReplayOptions): ReplayResult {
  const built = 'largestNode' in cluster ? cluster : buildCluster(cluster);
  const prep = prepareJobs(jobs, built, opts);
  return replayPrepared(prep.inputs, built, opts, prep);
}
