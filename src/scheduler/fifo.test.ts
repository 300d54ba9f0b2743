import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { scheduleFifo } from './fifo.js';
import type { Snapshot, SnapshotNode, SnapshotQueue, PendingWorkload } from './types.js';

const node = (id: string, gpus: number, model = 'H100-80GB', used: number[] = []): SnapshotNode => ({
  id,
  name: id,
  schedulable: true,
  gpus: Array.from({ length: gpus }, (_, index) => ({ index, model, memoryMiB: 81920 })),
  usedGpuIndices: used,
});
const queue = (id: string, limit: number | null = null, priority = 0): SnapshotQueue => ({
  id,
  name: id,
  priority,
  quotas: limit === null ? [] : [{ gpuModel: '*', guaranteed: 0, limit, overQuotaWeight: 1 }],
  usage: {},
});
const job = (id: string, gpus: number, queueId = 'q', at = 0, priority = 0, gpuModel: string | null = null): PendingWorkload => ({
  id,
  name: id,
  queueId,
  priority,
  gpus,
  gpuModel,
  submittedAt: at,
});

describe('FIFO scheduler', () => {
  it('places first-fit on the lowest free GPU indices of one node', () => {
    const plan = scheduleFifo({ nodes: [node('a', 4, 'H100-80GB', [0])], queues: [queue('q')], pending: [job('j', 2)] }, 0);
    expect(plan.placements).toEqual([{ workloadId: 'j', nodeId: 'a', gpuIndices: [1, 2], gpuModel: 'H100-80GB' }]);
  });

  it('serves higher priority first, then submission order', () => {
    const plan = scheduleFifo(
      { nodes: [node('a', 2)], queues: [queue('q')], pending: [job('old', 2, 'q', 1), job('new', 2, 'q', 2), job('urgent', 2, 'q', 3, 10)] },
      0,
    );
    expect(plan.placements.map((p) => p.workloadId)).toEqual(['urgent']);
    expect(plan.pending.map((p) => p.workloadId)).toEqual(['old', 'new']);
  });

  it('lets a small job pass a big one that cannot fit (best-effort FIFO) and explains the wait', () => {
    const plan = scheduleFifo({ nodes: [node('a', 4), node('b', 4)], queues: [queue('q')], pending: [job('big', 8, 'q', 1), job('small', 1, 'q', 2)] }, 0);
    expect(plan.placements.map((p) => p.workloadId)).toEqual(['small']);
    expect(plan.pending[0]!.reasons[0]).toMatch(/no node has 8 free GPUs/);
  });

  it('keeps a queue within its limit and says so', () => {
    const plan = scheduleFifo({ nodes: [node('a', 8)], queues: [queue('q', 3)], pending: [job('one', 2), job('two', 2)] }, 0);
    expect(plan.placements.map((p) => p.workloadId)).toEqual(['one']);
    expect(plan.pending[0]!.reasons[0]).toMatch(/limit of 3 GPUs \(2 in use, 2 asked\)/);
  });

  it('honours a GPU model request and never mixes models in one placement', () => {
    const mixed: SnapshotNode = { ...node('a', 0), gpus: [{ index: 0, model: 'A100-40GB', memoryMiB: 1 }, { index: 1, model: 'H100-80GB', memoryMiB: 1 }] };
    expect(scheduleFifo({ nodes: [mixed], queues: [queue('q')], pending: [job('j', 2)] }, 0).placements).toEqual([]);
    const plan = scheduleFifo({ nodes: [mixed], queues: [queue('q')], pending: [job('j', 1, 'q', 0, 0, 'H100-80GB')] }, 0);
    expect(plan.placements[0]!.gpuIndices).toEqual([1]);
    const none = scheduleFifo({ nodes: [mixed], queues: [queue('q')], pending: [job('j', 1, 'q', 0, 0, 'L4-24GB')] }, 0);
    expect(none.pending[0]!.reasons).toEqual(['no ready node has GPUs of model L4-24GB']);
  });

  it('skips nodes that are not schedulable', () => {
    const plan = scheduleFifo({ nodes: [{ ...node('a', 8), schedulable: false }], queues: [queue('q')], pending: [job('j', 1)] }, 0);
    expect(plan.pending[0]!.reasons).toEqual(['no ready node in the fleet']);
  });

  it('places CPU-only jobs without GPUs', () => {
    const plan = scheduleFifo({ nodes: [node('a', 1, 'H100-80GB', [0])], queues: [queue('q')], pending: [job('cpu', 0)] }, 0);
    expect(plan.placements).toEqual([{ workloadId: 'cpu', nodeId: 'a', gpuIndices: [], gpuModel: null }]);
  });
});

const snapshotArb: fc.Arbitrary<Snapshot> = fc
  .record({
    nodes: fc.array(fc.record({ gpus: fc.integer({ min: 0, max: 8 }), usedMask: fc.integer({ min: 0, max: 255 }), ready: fc.boolean(), model: fc.constantFrom('H100-80GB', 'A100-40GB') }), { maxLength: 6 }),
    queues: fc.array(fc.record({ limit: fc.option(fc.integer({ min: 0, max: 16 })), priority: fc.integer({ min: -2, max: 2 }), used: fc.integer({ min: 0, max: 4 }) }), { minLength: 1, maxLength: 4 }),
    jobs: fc.array(fc.record({ gpus: fc.integer({ min: 0, max: 9 }), queue: fc.nat(), priority: fc.integer({ min: -2, max: 2 }), at: fc.nat(1000), model: fc.option(fc.constantFrom('H100-80GB', 'A100-40GB')) }), { maxLength: 30 }),
  })
  .map(({ nodes, queues, jobs }) => ({
    nodes: nodes.map((n, i) => ({
      id: `n${i}`,
      name: `n${i}`,
      schedulable: n.ready,
      gpus: Array.from({ length: n.gpus }, (_, index) => ({ index, model: n.model, memoryMiB: 1 })),
      usedGpuIndices: Array.from({ length: n.gpus }, (_, index) => index).filter((index) => (n.usedMask >> index) & 1),
    })),
    queues: queues.map((q, i) => ({
      id: `q${i}`,
      name: `q${i}`,
      priority: q.priority,
      quotas: q.limit === null ? [] : [{ gpuModel: '*', guaranteed: 0, limit: q.limit, overQuotaWeight: 1 }],
      usage: { 'H100-80GB': q.used },
    })),
    pending: jobs.map((j, i) => ({ id: `j${i}`, name: `j${i}`, queueId: `q${j.queue % queues.length}`, priority: j.priority, gpus: j.gpus, gpuModel: j.model, submittedAt: j.at })),
  }));

describe('FIFO scheduler invariants', () => {
  it('never gives a GPU twice, never a used or unschedulable GPU, never the wrong model', () => {
    fc.assert(
      fc.property(snapshotArb, (snapshot) => {
        const plan = scheduleFifo(snapshot, 0);
        const taken = new Set<string>();
        for (const p of plan.placements) {
          const n = snapshot.nodes.find((x) => x.id === p.nodeId)!;
          const w = snapshot.pending.find((x) => x.id === p.workloadId)!;
          expect(n.schedulable).toBe(true);
          expect(p.gpuIndices.length).toBe(w.gpus);
          for (const i of p.gpuIndices) {
            const key = `${n.id}/${i}`;
            expect(taken.has(key)).toBe(false);
            taken.add(key);
            expect(n.usedGpuIndices).not.toContain(i);
            const gpu = n.gpus.find((g) => g.index === i)!;
            expect(gpu).toBeDefined();
            if (w.gpuModel) expect(gpu.model).toBe(w.gpuModel);
            expect(gpu.model).toBe(p.gpuModel);
          }
        }
      }),
    );
  });

  it('keeps every queue within its limit', () => {
    fc.assert(
      fc.property(snapshotArb, (snapshot) => {
        const plan = scheduleFifo(snapshot, 0);
        for (const q of snapshot.queues) {
          const limit = q.quotas[0]?.limit;
          if (limit === undefined || limit === null) continue;
          const before = Object.values(q.usage).reduce((a, b) => a + b, 0);
          const added = plan.placements.filter((p) => snapshot.pending.find((w) => w.id === p.workloadId)!.queueId === q.id).reduce((a, p) => a + p.gpuIndices.length, 0);
          if (added > 0) expect(before + added).toBeLessThanOrEqual(limit);
        }
      }),
    );
  });

  it('accounts for every pending workload exactly once, and is deterministic', () => {
    fc.assert(
      fc.property(snapshotArb, (snapshot) => {
        const plan = scheduleFifo(snapshot, 0);
        const ids = [...plan.placements.map((p) => p.workloadId), ...plan.pending.map((p) => p.workloadId)].sort();
        expect(ids).toEqual(snapshot.pending.map((w) => w.id).sort());
        expect(scheduleFifo(structuredClone(snapshot), 0)).toEqual(plan);
      }),
    );
  });
});
