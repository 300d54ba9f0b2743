import { describe, expect, it } from 'vitest';
import { generate } from '../../bench/scheduler/generate.js';
import { measure, type Policy } from '../../bench/scheduler/measure.js';
import { policies } from '../../bench/scheduler/policies.js';
import { runScenarios } from '../../bench/scheduler/run.js';
import { parseScenarioFile, type ScenarioFile } from '../../bench/scheduler/scenario.js';
import { scheduleFifo } from '../../src/scheduler/fifo.js';

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
scenarios:
  - name: tiny
    seed: 7
    running: { gpuShare: 0.5, queues: [{ queue: a, share: 1 }, { queue: b, share: 1 }] }
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

describe('scheduler benchmark harness', () => {
  it('generates the same fleet from the same seed, and another from another seed', () => {
    const f = file();
    const { nextPending: _a, ...first } = generate(f, scenario(f));
    const { nextPending: _b, ...again } = generate(f, scenario(f));
    expect(again).toEqual(first);
    expect(first.snapshot.pending).toHaveLength(46);
    expect(first.running.reduce((n, a) => n + a.gpuIndices.length, 0)).toBe(40);
    const other = generate(f, { ...scenario(f), seed: 8 });
    expect(other.snapshot.pending).not.toEqual(first.snapshot.pending);
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

  it('never gives one GPU to two workloads across cycles, and keeps queue usage in step', () => {
    const f = file();
    const m = measure(scheduleFifo, generate(f, scenario(f)), scenario(f));
    expect(m.cycleMs).toHaveLength(8);
    expect(m.placements).toBeGreaterThan(0);
    const held = new Map<string, number[]>();
    const usage = new Map<string, number>();
    for (const a of m.state.allocations) {
      held.set(a.nodeId, [...(held.get(a.nodeId) ?? []), ...a.gpuIndices]);
      usage.set(a.queueId, (usage.get(a.queueId) ?? 0) + a.gpuIndices.length);
    }
    for (const node of m.state.nodes.values()) {
      expect(new Set(node.usedGpuIndices).size).toBe(node.usedGpuIndices.length);
      expect([...node.usedGpuIndices].sort()).toEqual([...(held.get(node.id) ?? [])].sort());
    }
    for (const queue of m.state.queues.values()) {
      expect(Object.values(queue.usage).reduce((x, y) => x + y, 0)).toBe(usage.get(queue.id) ?? 0);
    }
  });

  it('fails a policy that hands out a GPU already in use', () => {
    const f = file();
    const greedy: Policy = (snapshot, now) => {
      const plan = scheduleFifo(snapshot, now);
      const busy = snapshot.nodes.find((n) => n.usedGpuIndices.length > 0)!;
      const victim = snapshot.pending.find((w) => w.gpus === 1 && w.gpuModel === null)!;
      return { ...plan, placements: [{ workloadId: victim.id, nodeId: busy.id, gpuIndices: [busy.usedGpuIndices[0]!], gpuModel: busy.gpus[0]!.model }] };
    };
    expect(() => measure(greedy, generate(f, scenario(f)), scenario(f))).toThrow(/which is in use/);
  });

  it('runs every registered policy end to end, with FIFO as the baseline', () => {
    const { results, notes } = runScenarios(file(), policies);
    const fifo = results.filter((r) => r.scenario.startsWith('tiny [fifo]'));
    expect(fifo.map((r) => r.metric)).toEqual(['placements_per_s', 'cycle_p50_ms', 'cycle_p99_ms', 'gang_6_ms']);
    for (const r of fifo) expect(r.baseline).toBe(r.value);
    expect(notes.some((n) => n.includes('8 cycles'))).toBe(true);
  });
});
