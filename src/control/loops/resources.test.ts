import { describe, expect, it } from 'vitest';
import { allocationAmounts } from '../../scheduler/resources.js';
import { decayedWeight, toQueueQuota } from './resources.js';

describe('resource keys', () => {
  it('maps API quotas onto scheduler keys', () => {
    const base = { guaranteed: 4, limit: 8, overQuotaWeight: 1, lendingLimit: 2 };
    expect(toQueueQuota({ resource: 'gpus', gpuModel: '*', ...base })).toEqual({ resource: 'gpu', ...base });
    expect(toQueueQuota({ resource: 'gpus', gpuModel: 'H100-80GB', ...base }).resource).toBe('gpu/H100-80GB');
    expect(toQueueQuota({ resource: 'cpus', gpuModel: '*', ...base }).resource).toBe('cpu');
    expect(toQueueQuota({ resource: 'memory', gpuModel: '*', ...base, limit: null })).toEqual({ resource: 'memory', guaranteed: 4096, limit: null, overQuotaWeight: 1, lendingLimit: 2048 });
  });

  it('counts what an allocation holds', () => {
    expect(allocationAmounts({ gpuIndices: [0, 1], gpuFraction: null, gpuModel: 'L4', cpus: 2, memoryMiB: 0 })).toEqual({ gpu: 2, 'gpu/L4': 2, cpu: 2 });
    expect(allocationAmounts({ gpuIndices: [3], gpuFraction: 0.25, gpuModel: 'L4', cpus: 0, memoryMiB: 512 })).toEqual({ gpu: 0.25, 'gpu/L4': 0.25, memory: 512 });
  });

  it('decays past use with the half-life', () => {
    const H = 3600_000;
    const now = 100 * H;
    // Steady use for a long time weighs about 1; use that ended one half-life ago half of that.
    expect(decayedWeight(0, now, now, H)).toBeCloseTo(1, 6);
    expect(decayedWeight(0, now - H, now, H)).toBeCloseTo(0.5, 6);
    expect(decayedWeight(now - H, now, now, H)).toBeCloseTo(0.5, 6);
    expect(decayedWeight(now, now + H, now, H)).toBe(0);
  });
});
