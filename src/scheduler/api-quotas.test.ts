import { describe, expect, it } from 'vitest';
import { allocationAmounts } from './resources.js';
import { toQueueQuota } from './api-quotas.js';

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
});
