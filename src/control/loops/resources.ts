import type { Quota } from '../../core/api-types.js';
import type { QueueQuota, ReplicaAllocation, ResourceKey } from '../../scheduler/types.js';

/**
 * The scheduler counts resources by key (`gpu`, `gpu/<model>`, `cpu`, `memory` in MiB); the API
 * speaks of quotas per resource (`gpus` of a model, `cpus`, `memory` in GiB). These turn one into
 * the other, so the snapshot and the applier's checks count alike.
 */

export function quotaKey(q: Pick<Quota, 'resource' | 'gpuModel'>): ResourceKey {
  if (q.resource === 'cpus') return 'cpu';
  if (q.resource === 'memory') return 'memory';
  return q.gpuModel === '*' ? 'gpu' : `gpu/${q.gpuModel}`;
}

/** An API quota as the scheduler reads it; memory quotas are GiB in the API and MiB in the scheduler. */
export function toQueueQuota(q: Quota): QueueQuota {
  const scale = q.resource === 'memory' ? 1024 : 1;
  return {
    resource: quotaKey(q),
    guaranteed: q.guaranteed * scale,
    limit: q.limit === null ? null : q.limit * scale,
    overQuotaWeight: q.overQuotaWeight,
    lendingLimit: q.lendingLimit === null ? null : q.lendingLimit * scale,
  };
}

/** What one replica holds, by resource key; a fractional GPU counts as its share. */
export function allocationAmounts(a: Pick<ReplicaAllocation, 'gpuIndices' | 'gpuFraction' | 'gpuModel' | 'cpus' | 'memoryMiB'>): Record<ResourceKey, number> {
  const amounts: Record<ResourceKey, number> = {};
  const gpus = a.gpuFraction ?? a.gpuIndices.length;
  if (gpus > 0) {
    amounts.gpu = gpus;
    if (a.gpuModel !== null) amounts[`gpu/${a.gpuModel}`] = gpus;
  }
  if (a.cpus > 0) amounts.cpu = a.cpus;
  if (a.memoryMiB > 0) amounts.memory = a.memoryMiB;
  return amounts;
}

export function addAmounts(into: Record<ResourceKey, number>, amounts: Record<ResourceKey, number>, factor = 1): void {
  for (const [key, value] of Object.entries(amounts)) into[key] = (into[key] ?? 0) + value * factor;
}

/**
 * The weight of use during [startMs, endMs] as seen at `nowMs`: ∫ 2^(−(now−t)/H) dt over the
 * interval divided by H/ln 2, which integrates in closed form. Steady use since long ago weighs 1.
 */
export function decayedWeight(startMs: number, endMs: number, nowMs: number, halfLifeMs: number): number {
  const end = Math.min(endMs, nowMs);
  if (end <= startMs || halfLifeMs <= 0) return 0;
  return 2 ** (-(nowMs - end) / halfLifeMs) - 2 ** (-(nowMs - startMs) / halfLifeMs);
}
