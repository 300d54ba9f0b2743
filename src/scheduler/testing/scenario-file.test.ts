import { describe, expect, it } from 'vitest';
import { emptyPlan } from '../types.js';
import { parseScenario } from './scenario-file.js';
import { compareWithExpectation } from './scenario-expect.js';

const minimal = `
description: two nodes
now: 2h
nodes:
  - { name: a, gpus: 4xH100-80GB+2xA100-40GB, labels: { rack: r1 }, cpus: 8, memory: 1024 }
  - { name: b, gpus: 1xL4-24GB }
queues:
  - { name: org, quotas: { gpu: { guaranteed: 2, limit: 8 } } }
  - { name: team, parent: org, usage: { gpu: 3 } }
running:
  - { name: r, queue: team, gpus: 2, on: a, startedAt: 30m, timeLimit: 1h }
  - { name: f, queue: team, fraction: 0.5, on: b }
pending:
  - { name: p, queue: team, gpus: 2, replicas: 2, topology: { required: rack } }
expect:
  placed: [p]
  preempted: [r, { name: f, kind: reclaim }]
  pending: {}
`;

describe('scenario files', () => {
  it('builds a snapshot from the compact form', () => {
    const s = parseScenario(minimal, 'x.yaml');
    expect(s.now).toBe(7_200_000);
    expect(s.snapshot.nodes[0]!.gpus.map((g) => `${g.index}:${g.model}:${g.memoryMiB}`)).toEqual([
      '0:H100-80GB:81920',
      '1:H100-80GB:81920',
      '2:H100-80GB:81920',
      '3:H100-80GB:81920',
      '4:A100-40GB:40960',
      '5:A100-40GB:40960',
    ]);
    expect(s.snapshot.queues[0]!.quotas).toEqual([{ resource: 'gpu', guaranteed: 2, limit: 8, overQuotaWeight: 1, lendingLimit: null }]);
    expect(s.snapshot.queues[1]).toMatchObject({ parentId: 'org', decayedUsage: { gpu: 3 } });
    expect(s.snapshot.running[0]).toMatchObject({ startedAt: 1_800_000, timeLimitMs: 3_600_000, allocations: [{ nodeId: 'a', gpuIndices: [0, 1] }] });
    expect(s.snapshot.running[1]!.allocations).toEqual([{ nodeId: 'b', gpuIndices: [0], gpuFraction: 0.5, gpuModel: 'L4-24GB', cpus: 0, memoryMiB: 0 }]);
    expect(s.snapshot.pending[0]).toMatchObject({ replicas: 2, topology: { required: 'rack', preferred: null }, submittedAt: 0 });
    expect(s.expect.preempted).toEqual([{ name: 'r' }, { name: 'f', kind: 'reclaim' }]);
    expect(s.config.consolidation).toBe('apply');
  });

  it('names the field in schema errors', () => {
    expect(() => parseScenario(minimal.replace('gpus: 4xH100-80GB+2xA100-40GB', 'gpus: eight'), 'bad.yaml')).toThrow(/bad\.yaml: nodes\[0\]\.gpus: expected e\.g\. 8xH100-80GB/);
    expect(() => parseScenario(minimal.replace('replicas: 2', 'replica: 2'), 'bad.yaml')).toThrow(/pending\[0\]\.replica: unknown field/);
    expect(() => parseScenario(minimal.replace('now: 2h', 'now: soon'), 'bad.yaml')).toThrow(/now: expected ms or a duration/);
    expect(() => parseScenario(minimal.replace('description: two nodes\n', ''), 'bad.yaml')).toThrow(/description/);
  });

  it('names the field in reference errors', () => {
    expect(() => parseScenario(minimal.replace('parent: org', 'parent: nowhere'), 'bad.yaml')).toThrow(/queues\[1\]\.parent: unknown queue nowhere/);
    expect(() => parseScenario(minimal.replace('gpus: 2, on: a', 'gpus: 9, on: a'), 'bad.yaml')).toThrow(/running\[0\]\.on: r replica 0 does not fit on a/);
    expect(() => parseScenario(minimal.replace('placed: [p]', 'placed: [q]'), 'bad.yaml')).toThrow(/expect\.placed\[0\]: q is not a pending workload/);
    expect(() => parseScenario('a: [', 'bad.yaml')).toThrow(/bad\.yaml: not valid YAML/);
  });

  it('compares a plan with the expectations', () => {
    const s = parseScenario(minimal, 'x.yaml');
    const problems = compareWithExpectation(s, { ...emptyPlan(), pending: [{ workloadId: 'p', reasons: ['x'] }] });
    expect(problems).toEqual(['placed: expected [p], got []', 'preempted: expected [f, r], got []']);
  });
});
