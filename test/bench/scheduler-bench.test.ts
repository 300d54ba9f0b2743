import { describe, expect, it } from 'vitest';
import { FleetState } from '../../bench/scheduler/fleet-state.js';
import { EPOCH, generate, type Generated } from '../../bench/scheduler/generate.js';
import { measure, type Policy } from '../../bench/scheduler/measure.js';
import { policies } from '../../bench/scheduler/policies.js';
import { runScenarios } from '../../bench/scheduler/run.js';
import { parseScenarioFile, type ScenarioFile } from '../../bench/scheduler/scenario.js';
import { scheduleFifo } from '../../src/scheduler/fifo.js';
import type { Plan, ReplicaAllocation, RunningWorkload } from '../../src/scheduler/types.js';
import { emptyPlan } from '../../src/scheduler/types.js';

const tiny = `
fleet:
  nodes: 20
  gpusPerNode: 4
  models: [{ model: H100-80GB, share: 3 }, { model: L40S-48GB, share: 1 }]
  topology: { nodesPerNvlinkDomain: 2, nodesPerRack: 10 }
queues:
  - { name: org, parent: null }
  - { name: a, parent: org, quotas: [{ guaranteed: 20, limit: 40 }] }
  - { name: b, parent: org, priority: 5 }
  - { name: serving, parent: null, quotas: [{ gpuModel: H100-80GB, guaranteed: 8, limit: 16 }] }
  - { name: inference, parent: serving }
scenarios:
  - name: tiny
    seed: 7
    running: { gpuShare: 0.5, queues: [{ queue: a, share: 1 }, { queue: b, share: 1 }, { queue: inference, share: 1 }] }
    pending:
      count: 40
      sizes: [{ gpus: 1, share: 2 }, { gpus: 2, share: 1 }, { gpus: 4, share: 1 }]
      priorities: [{ priority: 0, share: 1 }, { priority: 10, share: 1 }]
      queues: [{ queue: a, share: 1 }, { queue: b, share: 1 }]
      pinnedModelShare: 0.5
    gang: { replicas: 6, gpusPerReplica: 1, queue: b, priority: 100 }
    cycles: { max: 8, warmup: 1, finishShare: 0.2, refill: true }
`;
const file = (text = tiny): ScenarioFile => parseScenarioFile(text, 'tiny.yaml');
const scenario = (f: ScenarioFile) => f.scenarios[0]!;
const fresh = (): Generated => {
  const f = file();
  return generate(f, scenario(f));
};
const NOW = EPOCH + 3_600_000;
const free = (state: FleetState, nodeId: string) => {
  const use = state.nodes.get(nodeId)!;
  return use.node.gpus.filter((_, i) => use.share[i] === 0).map((g) => g.index);
};
const whole = (nodeId: string, gpuIndices: number[], gpuModel = 'H100-80GB'): ReplicaAllocation => ({ nodeId, gpuIndices, gpuFraction: null, gpuModel, cpus: 0, memoryMiB: 0 });
const placing = (workloadId: string, allocations: ReplicaAllocation[]): Plan => ({ ...emptyPlan(), placements: [{ workloadId, allocations }] });

describe('scheduler benchmark harness', () => {
  it('generates the same fleet from the same seed, and another from another seed', () => {
    const { nextPending: _a, ...first } = fresh();
    const { nextPending: _b, ...again } = fresh();
    expect(again).toEqual(first);
    expect(first.snapshot.pending).toHaveLength(41);
    expect(first.snapshot.running.reduce((n, w) => n + w.allocations.reduce((m, a) => m + a.gpuIndices.length, 0), 0)).toBe(40);
    const f = file();
    const other = generate(f, { ...scenario(f), seed: 8 });
    expect(other.snapshot.pending).not.toEqual(first.snapshot.pending);
  });

  it('carries topology labels, the queue tree with quotas on resource keys, and the gang as one workload', () => {
    const { snapshot, gangId } = fresh();
    expect(snapshot.nodes[13]!.labels).toEqual({ rack: 'rack-1', 'nvlink-domain': 'nvl-6' });
    expect(snapshot.nodes.map((n) => n.gpus[0]!.model).filter((m) => m === 'L40S-48GB')).toHaveLength(5);
    const queues = new Map(snapshot.queues.map((q) => [q.id, q]));
    expect(queues.get('a')).toMatchObject({ parentId: 'org', quotas: [{ resource: 'gpu', guaranteed: 20, limit: 40, overQuotaWeight: 1, lendingLimit: null }] });
    expect(queues.get('serving')!.quotas[0]!.resource).toBe('gpu/H100-80GB');
    expect(queues.get('org')!.decayedUsage['gpu']).toBeGreaterThan(0);
    const gang = snapshot.pending.find((w) => w.id === gangId)!;
    expect(gang).toMatchObject({ replicas: 6, request: { gpus: 1 }, queueId: 'b', priority: 100 });
    // The running load: long started, preemptible except inference's.
    const inference = snapshot.running.filter((w) => w.queueId === 'inference');
    expect(inference.length).toBeGreaterThan(0);
    for (const w of snapshot.running) {
      expect(w.preemptible).toBe(w.queueId !== 'inference');
      expect(w.startedAt).toBeLessThan(EPOCH - 3_600_000);
    }
  });

  it('names the bad field of an invalid scenario file', () => {
    expect(() => file(tiny.replace('{ gpus: 2, share: 1 }', '{ gpus: 0, share: 1 }'))).toThrow(/tiny\.yaml[\s\S]*scenarios\.0\.pending\.sizes\.1\.gpus/);
    expect(() => file(tiny.replace('queues: [{ queue: a, share: 1 }, { queue: b, share: 1 }]\n      pinned', 'queues: [{ queue: c, share: 1 }]\n      pinned'))).toThrow(
      /scenarios\.0\.pending\.queues\.0\.queue: unknown queue c/,
    );
    expect(() => file(tiny.replace('{ name: a, parent: org', '{ name: a, parent: nobody'))).toThrow(/queues\.1\.parent: unknown parent nobody/);
    expect(() => file(tiny.replace('gang: { replicas: 6, gpusPerReplica: 1, queue: b', 'gang: { replicas: 6, gpusPerReplica: 1, queue: org'))).toThrow(
      /scenarios\.0\.gang\.queue: org has child queues/,
    );
    expect(() => file(tiny.replace('seed: 7', 'seed: 7\n    colour: red'))).toThrow(/scenarios\.0/);
  });

  it('never gives one GPU to two workloads across cycles, and keeps queue usage in step along the tree', () => {
    const f = file();
    const m = measure(scheduleFifo, generate(f, scenario(f)), scenario(f));
    expect(m.cycleMs).toHaveLength(8);
    expect(m.placements).toBeGreaterThan(0);
    expect(m.gang?.ms).not.toBeNull();
    expect(m.gang?.placed).toBe(6);
    const held = new Map<string, number[]>();
    const usage = new Map<string, number>();
    const parents = new Map([...m.state.queues.values()].map((q) => [q.id, q.parentId]));
    for (const w of m.state.running) {
      for (const a of w.allocations) {
        held.set(a.nodeId, [...(held.get(a.nodeId) ?? []), ...a.gpuIndices]);
        for (let q: string | null = w.queueId; q !== null; q = parents.get(q) ?? null) usage.set(q, (usage.get(q) ?? 0) + a.gpuIndices.length);
      }
    }
    for (const [id, use] of m.state.nodes) {
      const heldHere = held.get(id) ?? [];
      expect(new Set(heldHere).size).toBe(heldHere.length);
      expect(use.node.gpus.filter((_, i) => use.share[i] === 1).map((g) => g.index)).toEqual([...heldHere].sort());
      expect(use.node.gpus.length - free(m.state, id).length).toBe(heldHere.length);
    }
    for (const queue of m.state.queues.values()) expect(m.state.usage.get(queue.id)!.get('gpu') ?? 0).toBe(usage.get(queue.id) ?? 0);
  });

  it('fails a policy that hands out a GPU already in use', () => {
    const f = file();
    const greedy: Policy = (snapshot, now) => {
      const plan = scheduleFifo(snapshot, now);
      const busy = snapshot.running.find((w) => w.allocations[0]!.gpuModel === 'H100-80GB')!.allocations[0]!;
      const victim = snapshot.pending.find((w) => w.replicas === 1 && w.request.gpus === 1 && w.gpuModels === null)!;
      return { ...plan, placements: [{ workloadId: victim.id, allocations: [{ ...busy, gpuIndices: [busy.gpuIndices[0]!] }] }] };
    };
    expect(() => measure(greedy, generate(f, scenario(f)), scenario(f))).toThrow(/which is in use/);
  });

  it('refuses what the plan applier would refuse', () => {
    const g = fresh();
    const state = new FleetState(g);
    const one = g.snapshot.pending.find((w) => w.replicas === 1 && w.request.gpus === 1 && w.gpuModels === null && w.queueId === 'a')!;
    const h100 = g.snapshot.nodes.find((n) => n.gpus[0]!.model === 'H100-80GB' && free(state, n.id).length > 0)!;
    const l40s = g.snapshot.nodes.find((n) => n.gpus[0]!.model === 'L40S-48GB' && free(state, n.id).length > 0)!;
    const idle = free(state, h100.id)[0]!;
    const refused = (plan: Plan) => () => new FleetState(g).apply(plan, NOW);
    expect(refused(placing('nobody', [whole(h100.id, [idle])]))).toThrow(/not pending/);
    expect(refused(placing(one.id, [whole('nowhere', [0])]))).toThrow(/not a ready node/);
    expect(refused(placing(one.id, [whole(h100.id, [9])]))).toThrow(/does not exist/);
    expect(refused(placing(one.id, [whole(h100.id, [idle], 'L40S-48GB')]))).toThrow(/labelled L40S-48GB/);
    expect(refused(placing(one.id, [whole(h100.id, [])]))).toThrow(/asked for 1 GPUs, got 0/);
    expect(refused(placing(one.id, [whole(h100.id, [idle]), whole(h100.id, [idle])]))).toThrow(/1 replicas, 2 allocations/);
    expect(refused(placing(one.id, [{ ...whole(h100.id, [idle]), gpuFraction: 0.5 }]))).toThrow(/asked for whole GPUs/);
    const pinned = g.snapshot.pending.find((w) => w.gpuModels?.[0] === 'H100-80GB' && w.request.gpus === 1)!;
    expect(refused(placing(pinned.id, [whole(l40s.id, [free(state, l40s.id)[0]!], 'L40S-48GB')]))).toThrow(/wants H100-80GB, got L40S-48GB/);
    // The gang: all six replicas, no GPU twice.
    const gang = g.snapshot.pending.find((w) => w.id === g.gangId)!;
    expect(refused(placing(gang.id, [whole(h100.id, [idle])]))).toThrow(/6 replicas, 1 allocations/);
    expect(refused(placing(gang.id, Array.from({ length: 6 }, () => whole(h100.id, [idle]))))).toThrow(/which is in use/);
  });

  it('keeps queue limits along the tree, and fractional shares of a GPU within 1', () => {
    const g = fresh();
    // Serving's 16 H100 limit binds its child inference, which has no quota of its own.
    const request = { gpus: 0, gpuFraction: 0.4, gpuMemoryMiB: null, cpus: 0, memoryMiB: 0 };
    const base = g.snapshot.pending[0]!;
    const state = new FleetState(g);
    const h100 = g.snapshot.nodes.filter((n) => n.gpus[0]!.model === 'H100-80GB' && free(state, n.id).length > 0);
    const target = h100[0]!;
    const gpu = free(state, target.id)[0]!;
    const shares = ['s1', 's2', 's3'].map((id) => ({ ...base, id, name: id, queueId: 'b', request }));
    g.snapshot.pending.push(...shares);
    const share = (id: string): Plan['placements'][number] => ({ workloadId: id, allocations: [{ ...whole(target.id, [gpu]), gpuFraction: 0.4 }] });
    expect(() => new FleetState(g).apply({ ...emptyPlan(), placements: [share('s1'), share('s2')] }, NOW)).not.toThrow();
    expect(() => new FleetState(g).apply({ ...emptyPlan(), placements: [share('s1'), share('s2'), share('s3')] }, NOW)).toThrow(/which is in use \(0\.8 of it held\)/);

    const used = state.usage.get('serving')!.get('gpu/H100-80GB') ?? 0;
    const big = Array.from({ length: 17 - used }, (_, i) => ({ ...base, id: `inf-${i}`, name: `inf-${i}`, queueId: 'inference', request: { ...request, gpuFraction: null, gpus: 1 } }));
    g.snapshot.pending.push(...big);
    const spots = h100.flatMap((n) => free(state, n.id).map((i) => whole(n.id, [i])));
    const plan: Plan = { ...emptyPlan(), placements: big.map((w, i) => ({ workloadId: w.id, allocations: [spots[i]!] })) };
    expect(() => new FleetState(g).apply(plan, NOW)).toThrow(/queue serving would exceed its limit of 16 H100-80GB GPUs \(16 in use, 1 asked\)/);
    expect(() => new FleetState(g).apply({ ...plan, placements: plan.placements.slice(0, -1) }, NOW)).not.toThrow();
  });

  it('preempts at once: the victim frees its GPUs for the next cycle and is pending again as submitted', () => {
    const g = fresh();
    const state = new FleetState(g);
    const victim = state.running.find((w) => w.preemptible)!;
    const { startedAt: _s, allocations, releasing: _r, ...submitted } = victim;
    const pending = g.snapshot.pending.find((w) => w.replicas === 1 && w.request.gpus === allocations[0]!.gpuIndices.length && w.gpuModels === null && w.queueId === victim.queueId)!;
    // Placing on the victim's GPUs in the plan that preempts it is refused: they free up only once it has stopped.
    const onVictim = placing(pending.id, allocations);
    const preempt = [{ workloadId: victim.id, kind: 'reclaim' as const, forWorkloadId: pending.id, reason: 'test' }];
    expect(() => new FleetState(g).apply({ ...onVictim, preemptions: preempt }, NOW)).toThrow(/which is in use/);
    const applied = state.apply({ ...emptyPlan(), preemptions: preempt }, NOW);
    expect(applied).toEqual({ placed: [], preempted: [victim.id], moved: [] });
    expect(state.running.some((w) => w.id === victim.id)).toBe(false);
    expect(state.pending.find((w) => w.id === victim.id)).toEqual(submitted);
    expect(state.apply(onVictim, NOW + 1000).placed).toEqual([pending.id]);
    expect(() => state.apply({ ...emptyPlan(), preemptions: preempt }, NOW)).toThrow(/not running/);
    const serving: RunningWorkload = state.running.find((w) => !w.preemptible)!;
    expect(() => state.apply({ ...emptyPlan(), preemptions: [{ ...preempt[0]!, workloadId: serving.id }] }, NOW)).toThrow(/not preemptible/);
  });

  it('runs every registered policy end to end, with FIFO as the baseline', () => {
    const { results, notes } = runScenarios(file(), policies);
    const fifo = results.filter((r) => r.scenario.startsWith('tiny [fifo]'));
    expect(fifo.map((r) => r.metric)).toEqual(['placements_per_s', 'cycle_p50_ms', 'cycle_p99_ms', 'gang_6_ms']);
    expect(fifo[0]!.scenario).toBe('tiny [fifo] as one workload of 6 × 1 GPU');
    for (const r of fifo) expect(r.baseline).toBe(r.value);
    expect(notes.some((n) => n.startsWith('tiny [fifo]') && n.includes('8 cycles'))).toBe(true);
    expect(notes.some((n) => n.startsWith('tiny [gpufleet]'))).toBe(true);
  });
});
