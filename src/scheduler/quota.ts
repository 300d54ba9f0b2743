import { EPSILON, GPU as GPU_KEY, gpuKey } from './resources.js';
import type { ReplicaAllocation, ResourceKey, RunningWorkload, SnapshotQueue } from './types.js';

// FIFO's quotas and usage, on GPU keys only: `gpu` (any model) and `gpu/<model>`.

/** Usage by resource key. */
export type Usage = Map<ResourceKey, number>;


/** GPUs one allocation holds: its whole GPUs, or its share of one GPU. */
export function gpusHeld(allocation: ReplicaAllocation): number {
  if (allocation.gpuModel === null) return 0;
  return allocation.gpuFraction ?? allocation.gpuIndices.length;
}

/** Adds `amount` GPUs of `model` (negative to take them back) to `usage` on `gpu` and `gpu/<model>`. */
export function chargeGpus(usage: Usage, model: string, amount: number): void {
  usage.set(GPU_KEY, (usage.get(GPU_KEY) ?? 0) + amount);
  const key = gpuKey(model);
  usage.set(key, (usage.get(key) ?? 0) + amount);
}

/** What each queue's own workloads hold (a parent's children not included), on GPU keys. */
export function queueUsage(running: readonly RunningWorkload[]): Map<string, Usage> {
  const byQueue = new Map<string, Usage>();
  for (const workload of running) {
    let usage = byQueue.get(workload.queueId);
    if (!usage) byQueue.set(workload.queueId, (usage = new Map()));
    for (const a of workload.allocations) if (a.gpuModel !== null) chargeGpus(usage, a.gpuModel, gpusHeld(a));
  }
  return byQueue;
}

/**
 * Whether `queue`, using `usage`, may take `amount` more GPUs of `model` without passing a limit:
 * both its `gpu` limit and its `gpu/<model>` limit bind. Returns the reason when it may not.
 */
export function limitBlock(queue: SnapshotQueue, usage: ReadonlyMap<ResourceKey, number> | undefined, model: string, amount: number): string | null {
  const modelKey = gpuKey(model);
  for (const quota of queue.quotas) {
    if (quota.limit === null || (quota.resource !== GPU_KEY && quota.resource !== modelKey)) continue;
    const used = usage?.get(quota.resource) ?? 0;
    if (used + amount > quota.limit + EPSILON) {
      const what = quota.resource === GPU_KEY ? 'GPUs' : `${model} GPUs`;
      return `queue ${queue.name} would exceed its limit of ${quota.limit} ${what} (${round(used)} in use, ${round(amount)} asked)`;
    }
  }
  return null;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
