import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { PendingWorkload, Plan, ReplicaAllocation, RunningWorkload, Snapshot, SnapshotNode } from '../types.js';
import { defaultSchedulerConfig, emptyPlan } from '../types.js';
import { arbSchedulerInput } from './arbitraries.js';
import { applyPlan, checkPlan, checkPlanDetailed } from './check-plan.js';
import { addAllocation, emptyUsage } from './usage.js';
import { job } from './fixtures.js';

const NOW = 10_000_000;
const config = { ...defaultSchedulerConfig, minRuntimeMs: 60_000 };

const node = (id: string, gpus = 4, labels: Record<string, string> = {}, extra: Partial<SnapshotNode> = {}): SnapshotNode => ({
  id,
  name: id,
  schedulable: true,
  labels,
  cpus: 0,
  memoryMiB: 0,
  gpus: Array.from({ length: gpus }, (_, index) => ({ index, model: 'H100-80GB', memoryMiB: 81_920 })),
  ...extra,
});
const alloc = (nodeId: string, gpuIndices: number[], extra: Partial<ReplicaAllocation> = {}): ReplicaAllocation => ({
  nodeId,
  gpuIndices,
  gpuFraction: null,
  gpuModel: gpuIndices.length > 0 ? 'H100-80GB' : null,
  cpus: 0,
  memoryMiB: 0,
  ...extra,
});
const running = (id: string, allocations: ReplicaAllocation[], extra: Partial<RunningWorkload> = {}): RunningWorkload => ({
  ...job(id, allocations[0]?.gpuIndices.length ?? 0),
  startedAt: 0,
  allocations,
  releasing: false,
  ...extra,
});
const snap = (s: Partial<Snapshot>): Snapshot => ({
  nodes: [node('a')],
  queues: [{ id: 'q', name: 'q', parentId: null, priority: 0, quotas: [], decayedUsage: {} }],
  running: [],
  pending: [],
  ...s,
});
const plan = (p: Partial<Plan>): Plan => ({ ...emptyPlan(), ...p });
const rules = (s: Snapshot, p: Plan) => [...new Set(checkPlanDetailed(s, config, NOW, p).map((v) => v.rule))].sort();

describe('checkPlan', () => {
  it('accepts a sound plan', () => {
    const s = snap({ running: [running('r', [alloc('a', [0, 1])])], pending: [job('p', 2), job('w', 4)] });
    const p = plan({ placements: [{ workloadId: 'p', allocations: [alloc('a', [2, 3])] }], pending: [{ workloadId: 'w', reasons: ['no room'] }] });
    expect(checkPlan(s, config, NOW, p)).toEqual([]);
  });

  it('finds over-allocated GPUs, including GPUs of a victim preempted in the same plan', () => {
    const s = snap({ running: [running('r', [alloc('a', [0, 1])], { priority: 0 })], pending: [job('p', 2, { priority: 5 })] });
    const p = plan({
      placements: [{ workloadId: 'p', allocations: [alloc('a', [1, 2])] }],
      preemptions: [{ workloadId: 'r', kind: 'preempt', forWorkloadId: 'p', reason: 'x' }],
    });
    expect(rules(s, p)).toContain('gpu-overallocated');
  });

  it('finds fractional shares over 1 and whole GPUs mixed with shares', () => {
    const half = (id: string): PendingWorkload => job(id, 0, { request: { gpus: 0, gpuFraction: 0.6, gpuMemoryMiB: null, cpus: 0, memoryMiB: 0 } });
    const s = snap({ pending: [half('x'), half('y'), job('z', 1)] });
    const share = (i: number) => alloc('a', [i], { gpuFraction: 0.6 });
    expect(rules(s, plan({ placements: [{ workloadId: 'x', allocations: [share(0)] }, { workloadId: 'y', allocations: [share(0)] }], pending: [{ workloadId: 'z', reasons: ['r'] }] }))).toEqual([
      'gpu-overallocated',
    ]);
    expect(rules(s, plan({ placements: [{ workloadId: 'x', allocations: [share(1)] }, { workloadId: 'z', allocations: [alloc('a', [1])] }], pending: [{ workloadId: 'y', reasons: ['r'] }] }))).toEqual([
      'gpu-overallocated',
    ]);
  });

  it('finds cores and memory over what a node has (0 means unconstrained)', () => {
    const nodes = [node('a', 4, {}, { cpus: 8, memoryMiB: 1000 }), node('b', 4)];
    const p1 = job('p1', 1, { request: { gpus: 1, gpuFraction: null, gpuMemoryMiB: null, cpus: 6, memoryMiB: 600 } });
    const p2 = { ...p1, id: 'p2', name: 'p2' };
    const s = snap({ nodes, pending: [p1, p2] });
    const a = (n: string, i: number) => alloc(n, [i], { cpus: 6, memoryMiB: 600 });
    expect(rules(s, plan({ placements: [{ workloadId: 'p1', allocations: [a('a', 0)] }, { workloadId: 'p2', allocations: [a('a', 1)] }] }))).toEqual(['cpu-memory']);
    expect(rules(s, plan({ placements: [{ workloadId: 'p1', allocations: [a('a', 0)] }, { workloadId: 'p2', allocations: [a('b', 1)] }] }))).toEqual([]);
  });

  it('finds gangs not placed whole, unknown or double placements, bad allocations', () => {
    const s = snap({ nodes: [node('a'), node('b', 4, {}, { schedulable: false })], pending: [job('g', 1, { replicas: 2, gpuModels: ['A100-40GB'] })] });
    expect(rules(s, plan({ placements: [{ workloadId: 'g', allocations: [alloc('a', [0])] }] }))).toEqual(['allocation', 'placement']);
    expect(rules(s, plan({ placements: [{ workloadId: 'nobody', allocations: [] }], pending: [{ workloadId: 'g', reasons: ['r'] }] }))).toEqual(['placement']);
    const s2 = snap({ nodes: [node('a'), node('b', 4, {}, { schedulable: false })], pending: [job('p', 1)] });
    expect(rules(s2, plan({ placements: [{ workloadId: 'p', allocations: [alloc('b', [0])] }] }))).toEqual(['allocation']);
    expect(rules(s2, plan({ placements: [{ workloadId: 'p', allocations: [alloc('a', [9])] }] }))).toEqual(['allocation']);
  });

  it('finds a queue or an ancestor past its limit', () => {
    const queues = [
      { id: 'org', name: 'org', parentId: null, priority: 0, decayedUsage: {}, quotas: [{ resource: 'gpu', guaranteed: 0, limit: 3, overQuotaWeight: 1, lendingLimit: null }] },
      { id: 'q', name: 'q', parentId: 'org', priority: 0, decayedUsage: {}, quotas: [] },
      { id: 'q2', name: 'q2', parentId: 'org', priority: 0, decayedUsage: {}, quotas: [] },
    ];
    const s = snap({ queues, running: [running('r', [alloc('a', [0, 1])], { queueId: 'q2' })], pending: [job('p', 2)] });
    expect(rules(s, plan({ placements: [{ workloadId: 'p', allocations: [alloc('a', [2, 3])] }] }))).toEqual(['queue-limit']);
    // A releasing workload no longer counts, nor does one preempted in this plan.
    const s2 = { ...s, running: [running('r', [alloc('a', [0, 1])], { queueId: 'q2', releasing: true })] };
    expect(rules(s2, plan({ placements: [{ workloadId: 'p', allocations: [alloc('a', [2, 3])] }] }))).toEqual([]);
  });

  it('finds reclaim of in-guarantee, non-preemptible or young workloads, and victims that make no room', () => {
    const quotas = [{ resource: 'gpu', guaranteed: 2, limit: null, overQuotaWeight: 1, lendingLimit: null }];
    const queues = [
      { id: 'q', name: 'q', parentId: null, priority: 0, decayedUsage: {}, quotas },
      { id: 'b', name: 'b', parentId: null, priority: 0, decayedUsage: {}, quotas },
    ];
    const s = snap({
      queues,
      running: [
        running('kept', [alloc('a', [0, 1])], { queueId: 'b', startedAt: 0 }),
        running('extra', [alloc('a', [2])], { queueId: 'b', startedAt: 1 }),
        running('pinned', [alloc('a', [3])], { queueId: 'b', startedAt: 2, preemptible: false }),
      ],
      pending: [job('p', 1)],
    });
    const reclaim = (id: string) => plan({ preemptions: [{ workloadId: id, kind: 'reclaim', forWorkloadId: 'p', reason: 'x' }], pending: [{ workloadId: 'p', reasons: ['waiting'] }] });
    expect(rules(s, reclaim('extra'))).toEqual([]);
    // b uses 4 with 2 guaranteed: one reclaim of 2 leaves it at its guarantee, taking 3 would not.
    expect(rules(s, reclaim('kept'))).toEqual([]);
    const both = plan({
      preemptions: ['kept', 'extra'].map((id) => ({ workloadId: id, kind: 'reclaim' as const, forWorkloadId: 'p', reason: 'x' })),
      pending: [{ workloadId: 'p', reasons: ['waiting'] }],
    });
    expect(rules(s, both)).toEqual(['in-guarantee']);
    expect(rules(s, reclaim('pinned'))).toEqual(['protected']);
    const young = { ...s, running: s.running.map((r) => (r.id === 'extra' ? { ...r, startedAt: NOW - 1_000 } : r)) };
    expect(rules(young, reclaim('extra'))).toEqual(['protected']);
    // p needs 2 GPUs: freeing 'extra' alone does not make it fit.
    const wide = { ...s, pending: [job('p', 2)] };
    expect(rules(wide, reclaim('extra'))).toEqual(['preemptor-fit']);
  });

  it('finds preempt across queues or of equal priority, and double or releasing victims', () => {
    const s = snap({ running: [running('r', [alloc('a', [0, 1, 2, 3])], { priority: 3 })], pending: [job('p', 4, { priority: 3 })] });
    const pre = plan({ preemptions: [{ workloadId: 'r', kind: 'preempt', forWorkloadId: 'p', reason: 'x' }], pending: [{ workloadId: 'p', reasons: ['w'] }] });
    expect(rules(s, pre)).toEqual(['victim']);
    const twice = plan({ ...pre, preemptions: [...pre.preemptions, ...pre.preemptions] });
    const s2 = { ...s, pending: [job('p', 4, { priority: 4 })] };
    expect(rules(s2, pre)).toEqual([]);
    expect(rules(s2, twice)).toEqual(['victim']);
    expect(rules({ ...s2, running: [{ ...s2.running[0]!, releasing: true }] }, pre)).toEqual(['victim']);
  });

  it('finds broken required topology', () => {
    const nodes = [node('a', 4, { rack: 'r1' }), node('b', 4, { rack: 'r2' }), node('c', 4)];
    const g = job('g', 4, { replicas: 2, topology: { required: 'rack', preferred: null } });
    const s = snap({ nodes, pending: [g] });
    const place = (x: string, y: string) => plan({ placements: [{ workloadId: 'g', allocations: [alloc(x, [0, 1, 2, 3]), alloc(y, [0, 1, 2, 3])] }] });
    expect(rules(s, place('a', 'b'))).toEqual(['topology']);
    expect(rules(s, place('a', 'c'))).toEqual(['topology']);
    const n = snap({ nodes, pending: [{ ...g, request: { ...g.request, gpus: 2 }, topology: { required: 'node', preferred: null } }] });
    expect(rules(n, plan({ placements: [{ workloadId: 'g', allocations: [alloc('a', [0, 1]), alloc('a', [2, 3])] }] }))).toEqual([]);
    expect(rules(n, plan({ placements: [{ workloadId: 'g', allocations: [alloc('a', [0, 1]), alloc('b', [2, 3])] }] }))).toEqual(['topology']);
  });

  it('finds pending workloads without reasons', () => {
    const s = snap({ pending: [job('p', 9), job('q', 9)] });
    expect(rules(s, plan({ pending: [{ workloadId: 'p', reasons: ['too big'] }] }))).toEqual(['explanation']);
    expect(rules(s, plan({ pending: [{ workloadId: 'p', reasons: ['too big'] }, { workloadId: 'q', reasons: [] }] }))).toEqual(['explanation']);
  });

  it('finds backfill that delays a reservation, and accepts backfill that does not', () => {
    const s = snap({
      nodes: [node('a', 8), node('b', 2)],
      running: [running('r', [alloc('a', [0, 1, 2, 3])], { startedAt: NOW - 1_000, timeLimitMs: 3_601_000 })],
      pending: [job('big', 8), job('short', 2, { timeLimitMs: 1_800_000 }), job('long', 2)],
    });
    const at = NOW + 3_600_000;
    const base = { reservations: [{ workloadId: 'big', at, nodeIds: ['a'] }] };
    const explained = (ids: string[]) => ids.map((workloadId) => ({ workloadId, reasons: ['r'] }));
    expect(rules(s, plan({ ...base, placements: [{ workloadId: 'short', allocations: [alloc('a', [4, 5])] }], pending: explained(['big', 'long']) }))).toEqual([]);
    expect(rules(s, plan({ ...base, placements: [{ workloadId: 'long', allocations: [alloc('b', [0, 1])] }], pending: explained(['big', 'short']) }))).toEqual([]);
    expect(rules(s, plan({ ...base, placements: [{ workloadId: 'long', allocations: [alloc('a', [4, 5])] }], pending: explained(['big', 'short']) }))).toEqual(['backfill']);
  });

  it("finds backfill that takes what a reservation's queue limit leaves it, and accepts backfill that ends first", () => {
    const s = snap({
      nodes: [node('a', 8), node('b', 4)],
      queues: [{ id: 'q', name: 'q', parentId: null, priority: 0, quotas: [{ resource: 'gpu', guaranteed: 0, limit: 8, overQuotaWeight: 1, lendingLimit: null }], decayedUsage: {} }],
      running: [running('r', [alloc('a', [0, 1, 2, 3])], { queueId: 'other', startedAt: NOW - 1_000, timeLimitMs: 3_601_000 })],
      pending: [job('big', 8), job('short', 2, { timeLimitMs: 1_800_000 }), job('long', 2)],
    });
    const at = NOW + 3_600_000;
    const base = { reservations: [{ workloadId: 'big', at, nodeIds: ['a'] }] };
    const explained = (ids: string[]) => ids.map((workloadId) => ({ workloadId, reasons: ['r'] }));
    expect(rules(s, plan({ ...base, placements: [{ workloadId: 'short', allocations: [alloc('b', [0, 1])] }], pending: explained(['big', 'long']) }))).toEqual([]);
    expect(rules(s, plan({ ...base, placements: [{ workloadId: 'long', allocations: [alloc('b', [0, 1])] }], pending: explained(['big', 'short']) }))).toEqual(['backfill']);
  });

  it('finds bad moves', () => {
    const s = snap({
      nodes: [node('a'), node('b')],
      running: [running('m', [alloc('b', [0])]), running('pinned', [alloc('a', [0])], { preemptible: false })],
      pending: [job('g', 4)],
    });
    const move = (id: string, to: ReplicaAllocation) => plan({ moves: [{ workloadId: id, forWorkloadId: 'g', to: [to] }], pending: [{ workloadId: 'g', reasons: ['w'] }] });
    expect(rules(s, move('m', alloc('a', [1])))).toEqual([]);
    expect(rules(s, move('pinned', alloc('b', [1])))).toEqual(['move']);
    expect(rules(s, move('m', alloc('a', [0])))).toEqual(['gpu-overallocated']);
    expect(rules(s, { ...move('m', alloc('a', [1])) }).length).toBe(0);
    expect(checkPlan(s, { ...config, consolidation: 'off' }, NOW, move('m', alloc('a', [1])))).toHaveLength(1);
  });

  it('accepts the empty plan with reasons on any generated input, and generated inputs are consistent', () => {
    fc.assert(
      fc.property(arbSchedulerInput, ({ snapshot, config: c, now }) => {
        const p = plan({ pending: snapshot.pending.map((w) => ({ workloadId: w.id, reasons: ['waiting'] })) });
        expect(checkPlan(snapshot, c, now, p)).toEqual([]);
        // Running workloads never share a GPU beyond its capacity.
        const usage = emptyUsage(snapshot.nodes);
        for (const r of snapshot.running) for (const a of r.allocations) addAllocation(usage, r.id, a);
        for (const state of usage.values()) {
          for (const gpu of state.gpus.values()) expect(gpu.whole + (gpu.share > 1e-9 ? 1 : 0) <= 1 && gpu.share <= 1 + 1e-9).toBe(true);
          if (state.node.cpus > 0) expect(state.cpus).toBeLessThanOrEqual(state.node.cpus);
          if (state.node.memoryMiB > 0) expect(state.memoryMiB).toBeLessThanOrEqual(state.node.memoryMiB);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('applyPlan', () => {
  const s = snap({
    nodes: [node('a'), node('b')],
    running: [running('victim', [alloc('a', [0, 1, 2, 3])]), running('m', [alloc('b', [0])])],
    pending: [job('p', 4, { priority: 5 }), job('q', 2)],
  });
  const p = plan({
    placements: [{ workloadId: 'q', allocations: [alloc('b', [1, 2])] }],
    preemptions: [{ workloadId: 'victim', kind: 'preempt', forWorkloadId: 'p', reason: 'x' }],
    moves: [{ workloadId: 'm', forWorkloadId: 'p', to: [alloc('b', [3])] }],
  });

  it('starts placements, requeues victims and carries out moves', () => {
    const next = applyPlan(s, p, NOW);
    expect(next.running.map((r) => [r.id, r.startedAt, r.allocations.map((a) => a.gpuIndices)])).toEqual([
      ['m', NOW, [[3]]],
      ['q', NOW, [[1, 2]]],
    ]);
    expect(next.pending.map((w) => w.id)).toEqual(['p', 'victim']);
    expect(next.pending[1]).not.toHaveProperty('allocations');
    expect(s.running).toHaveLength(2); // input untouched
  });

  it('can leave victims releasing instead', () => {
    const next = applyPlan(s, p, NOW, { victims: 'releasing', moves: false });
    expect(next.running.map((r) => [r.id, r.releasing])).toEqual([
      ['victim', true],
      ['m', false],
      ['q', false],
    ]);
    expect(next.running[1]!.allocations[0]!.gpuIndices).toEqual([0]);
  });
});
