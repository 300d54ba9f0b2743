import type { SnapshotQueue } from './types.js';

/**
 * Whether `queue` may take `count` more GPUs of `model` without passing a limit. Both the per-model
 * quota and the `*` quota (all models together) bind. Returns the reason when it may not.
 */
export function quotaBlock(queue: SnapshotQueue, model: string, count: number): string | null {
  const total = Object.values(queue.usage).reduce((a, b) => a + b, 0);
  for (const quota of queue.quotas) {
    if (quota.limit === null) continue;
    const used = quota.gpuModel === '*' ? total : (queue.usage[quota.gpuModel] ?? 0);
    if (quota.gpuModel !== '*' && quota.gpuModel !== model) continue;
    if (used + count > quota.limit) {
      const what = quota.gpuModel === '*' ? 'GPUs' : `${quota.gpuModel} GPUs`;
      return `queue ${queue.name} would exceed its limit of ${quota.limit} ${what} (${used} in use, ${count} asked)`;
    }
  }
  return null;
}

export function chargeQueue(queue: SnapshotQueue, model: string, count: number): void {
  queue.usage[model] = (queue.usage[model] ?? 0) + count;
}
