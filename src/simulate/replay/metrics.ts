import { windowedFairness, type Fairness } from './fairness.js';
import { percentileSorted } from './percentile.js';
import { windowIntegrals } from './time-windows.js';
import type { SimResult } from './simulator.js';

export interface Dist {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface QueueMetrics {
  jobs: number;
  jct: Dist;
  wait: Dist;
  /** Share of all allocated GPU-seconds that went to this queue. */
  share: number;
  /** The queue's entitled share: its guaranteed GPUs / all queues' (equal shares when no queue is guaranteed any). */
  entitled: number;
}

export interface ReplayMetrics {
  jobs: number;
  jct: Dist;
  wait: Dist;
  /** Last completion − first submit, seconds. */
  makespan: number;
  preemptions: number;
  /** GPU-seconds allocated to runs that were stopped and not kept by a checkpoint: work done again. */
  lostGpuSeconds: number;
  /** Mean allocated GPUs / capacity, time-weighted over the makespan. */
  meanAllocation: number;
  /** Time-weighted mean allocated fraction in equal buckets of the makespan. */
  allocationOverTime: number[];
  /** Time-weighted mean number of pending jobs in the same buckets. */
  queueLengthOverTime: number[];
  perQueue: Record<string, QueueMetrics>;
  /** Jain's index over time windows of each queue's allocation / its max-min fair allocation (fairness.ts). */
  fairness: Fairness;
}

export function dist(values: readonly number[]): Dist {
  const sorted = Float64Array.from(values).sort();
  const arr = Array.from(sorted);
  const mean = arr.length === 0 ? NaN : arr.reduce((a, b) => a + b, 0) / arr.length;
  return { count: arr.length, mean, p50: percentileSorted(arr, 50), p95: percentileSorted(arr, 95), p99: percentileSorted(arr, 99), };
}

/**
 * Time-weighted mean of a step function (value v[i] from t[i] to t[i+1]) over `buckets` equal
 * slices of [from, to], divided by `scale`.
 */
export function bucketize(times: readonly number[], values: readonly number[], from: number, to: number, buckets: number, scale: number): number[] {
  const width = (to - from) / buckets;
  if (!(width > 0)) return new Array<number>(buckets).fill(0);
  return windowIntegrals(times, values, from, to, width).map((x) => x / (width * scale));
}

export function computeMetrics(result: SimResult, capacity: number, entitledGpus: Record<string, number>, buckets = 50, fairnessWindowSeconds = 3600): ReplayMetrics {
  const jobs = result.jobs;
  const jctOf = (j: (typeof jobs)[number]) => j.finish - j.submitTime;
  const first = jobs.reduce((m, j) => Math.min(m, j.submitTime), Infinity);
  const last = jobs.reduce((m, j) => Math.max(m, j.finish), -Infinity);
  const makespan = jobs.length === 0 ? 0 : last - first;
  const byQueue = new Map<string, typeof jobs>();
  for (const j of jobs) {
    const list = byQueue.get(j.queue) ?? [];
    list.push(j);
    byQueue.set(j.queue, list);
  }
  const totalEntitled = Object.values(entitledGpus).reduce((a, b) => a + b, 0);
  const totalGpuSeconds = Object.values(result.queueGpuSeconds).reduce((a, b) => a + b, 0);
  const perQueue: Record<string, QueueMetrics> = {};
  for (const q of Object.keys(entitledGpus).sort()) {
    const list = byQueue.get(q) ?? [];
    const share = totalGpuSeconds > 0 ? (result.queueGpuSeconds[q] ?? 0) / totalGpuSeconds : 0;
    const entitled = totalEntitled > 0 ? entitledGpus[q]! / totalEntitled : 1 / Object.keys(entitledGpus).length;
    perQueue[q] = { jobs: list.length, jct: dist(list.map(jctOf)), wait: dist(list.map((j) => j.waited)), share, entitled };
  }
  const allocationOverTime = bucketize(result.allocation.times, result.allocation.gpus, first, last, buckets, capacity);
  const queueLengthOverTime = bucketize(result.allocation.times, result.allocation.pending, first, last, buckets, 1);
  const meanAllocation = jobs.length === 0 ? 0 : bucketize(result.allocation.times, result.allocation.gpus, first, last, 1, capacity)[0]!;
  return {
    jobs: jobs.length,
    jct: dist(jobs.map(jctOf)),
    wait: dist(jobs.map((j) => j.waited)),
    makespan,
    preemptions: result.preemptions,
    lostGpuSeconds: Math.max(0, totalGpuSeconds - jobs.reduce((sum, j) => sum + j.gpus * j.duration, 0)),
    meanAllocation,
    allocationOverTime,
    queueLengthOverTime,
    perQueue,
    fairness: windowedFairness(result.queueSeries, entitledGpus, capacity, first, last, fairnessWindowSeconds),
  };
}
