import { describe, expect, it } from 'vitest';
import type { ReplicaAllocation } from '../../scheduler/types.js';
import { AllocationLedger, type LedgerWorkload } from './allocation-ledger.js';

const gpus = (model: string, n: number) => Array.from({ length: n }, (_, index) => ({ index, model, memoryMiB: 24576 }));

function ledger(): AllocationLedger {
  return new AllocationLedger(
    [
      { id: 'a', ready: true, labels: { rack: 'r1' }, cpus: 8, memoryMiB: 4096, gpus: gpus('L4-24GB', 2) },
      { id: 'b', ready: true, labels: { rack: 'r2' }, cpus: 0, memoryMiB: 0, gpus: gpus('L4-24GB', 2) },
      { id: 'down', ready: false, labels: {}, cpus: 0, memoryMiB: 0, gpus: gpus('L4-24GB', 2) },
    ],
    [
      { id: 'org', name: 'org', parentId: null, quotas: [{ resource: 'gpu', guaranteed: 0, limit: 3, overQuotaWeight: 1, lendingLimit: null }] },
      { id: 'team', name: 'team', parentId: 'org', quotas: [] },
    ],
  );
}

const whole = (over: Partial<LedgerWorkload['request']> = {}, rest: Partial<LedgerWorkload> = {}): LedgerWorkload => ({
  queueId: 'team',
  replicas: 1,
  request: { gpus: 1, gpuFraction: null, gpuMemoryMiB: null, cpus: 0, memoryMiB: 0, ...over },
  gpuModels: null,
  topology: { required: null, preferred: null },
  ...rest,
});
const at = (nodeId: string, gpuIndices: number[], over: Partial<ReplicaAllocation> = {}): ReplicaAllocation => ({
  nodeId, gpuIndices, gpuFraction: null, gpuModel: gpuIndices.length ? 'L4-24GB' : null, cpus: 0, memoryMiB: 0, ...over,
});

describe('allocation ledger', () => {
  it('refuses a taken GPU, an unready node and a missing GPU', () => {
    const l = ledger();
    expect(l.tryPlace(whole(), [at('a', [0])])).toBeNull();
    expect(l.tryPlace(whole(), [at('a', [0])])).toMatch(/taken/);
    expect(l.tryPlace(whole(), [at('down', [0])])).toMatch(/not ready/);
    expect(l.tryPlace(whole(), [at('a', [7])])).toMatch(/no GPU 7/);
    expect(l.tryPlace(whole({}, { gpuModels: ['H100-80GB'] }), [at('a', [1])])).toMatch(/not one of H100-80GB/);
  });

  it('places a gang all or nothing', () => {
    const l = ledger();
    const gang = whole({ gpus: 1 }, { replicas: 2 });
    expect(l.tryPlace(gang, [at('a', [0]), at('a', [0])])).toMatch(/taken/);
    // Nothing of the refused gang stuck.
    expect(l.tryPlace(gang, [at('a', [0]), at('a', [1])])).toBeNull();
    expect(l.tryPlace(gang, [at('b', [0])])).toMatch(/workload has 2/);
  });

  it('lets shares of one GPU add up to one, and no whole GPU join them', () => {
    const l = ledger();
    const half = whole({ gpus: 0, gpuFraction: 0.5 });
    expect(l.tryPlace(half, [at('b', [0], { gpuFraction: 0.5 })])).toBeNull();
    expect(l.tryPlace(half, [at('b', [0], { gpuFraction: 0.5 })])).toBeNull();
    expect(l.tryPlace(half, [at('b', [0], { gpuFraction: 0.5 })])).toMatch(/free/);
    expect(l.tryPlace(whole(), [at('b', [0])])).toMatch(/taken|shared/);
    expect(l.tryPlace(half, [at('b', [1], { gpuFraction: 0.25 })])).toMatch(/asked/);
    const byMemory = whole({ gpus: 0, gpuMemoryMiB: 12288 });
    expect(l.tryPlace(byMemory, [at('b', [1], { gpuFraction: 0.25 })])).toMatch(/GPU memory/);
    expect(l.tryPlace(byMemory, [at('b', [1], { gpuFraction: 0.5 })])).toBeNull();
  });

  it('keeps a queue and its ancestors within their limits', () => {
    const l = ledger();
    expect(l.tryPlace(whole({ gpus: 2 }), [at('a', [0, 1])])).toBeNull();
    // org's limit of 3 GPUs binds its child team.
    expect(l.tryPlace(whole({ gpus: 2 }), [at('b', [0, 1])])).toMatch(/queue org would pass its limit of 3 gpu/);
    expect(l.tryPlace(whole({ gpus: 1 }), [at('b', [0])])).toBeNull();
  });

  it('checks cores, memory and required topology', () => {
    const l = ledger();
    const cpu = whole({ gpus: 0, cpus: 6, memoryMiB: 1024 });
    expect(l.tryPlace(cpu, [at('a', [], { cpus: 6, memoryMiB: 1024 })])).toBeNull();
    expect(l.tryPlace(cpu, [at('a', [], { cpus: 6, memoryMiB: 1024 })])).toMatch(/cores/);
    expect(l.tryPlace(cpu, [at('a', [], { cpus: 1, memoryMiB: 1024 })])).toMatch(/asked/);
    const racked = whole({ gpus: 1 }, { replicas: 2, topology: { required: 'rack', preferred: null } });
    expect(l.tryPlace(racked, [at('a', [0]), at('b', [0])])).toMatch(/one rack/);
  });
});
