import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SchedulerCarry } from './carry.js';
import { schedule } from './schedule.js';
import { arbSchedulerInput } from './testing/arbitraries.js';
import { job } from './testing/fixtures.js';
import { applyPlan } from './testing/check-plan.js';
import type { Snapshot } from './types.js';

type Step = typeof arbStep extends fc.Arbitrary<infer T> ? T : never;

/** What happens between two cycles: the plan is carried out, some running work ends, time passes, maybe a node is cordoned. */
const arbStep = fc.record({
  victims: fc.constantFrom('requeue' as const, 'releasing' as const),
  /** Every running workload at a position ≡ this (mod 3) ends; 3 ends none. */
  ends: fc.integer({ min: 0, max: 3 }),
  /** Time may also go back (a caller planning an earlier time again). */
  advanceMs: fc.constantFrom(-120_000, 1_000, 30_000, 120_000),
  cordon: fc.boolean(),
  /** The snapshot as new objects (as the store reads it), or the same objects again for the work that did not change (as a replay passes it). */
  fresh: fc.boolean(),
  /** The running work listed in another order (the store promises none; the carry keeps each node's holders in it). */
  order: fc.constantFrom('same' as const, 'reversed' as const, 'rotated' as const),
  /** Two running workloads trade ids: a workload the last cycle held is now held elsewhere, as a requeued one placed again. */
  tradeIds: fc.boolean(),
  /** A running workload's time limit changes: it holds the same GPUs with another end. */
  retime: fc.boolean(),
  /** A running workload's priority and whether it may be preempted change: it holds the same, as another object. */
  reprioritize: fc.boolean(),
});

function next(snapshot: Snapshot, step: Step, plan: Parameters<typeof applyPlan>[1], now: number): Snapshot {
  const after = applyPlan(snapshot, plan, now, { victims: step.victims });
  after.running = after.running.filter((_, i) => i % 3 !== step.ends);
  if (step.cordon && after.nodes[0]) after.nodes[0].schedulable = !after.nodes[0].schedulable;
  if (step.order === 'reversed') after.running.reverse();
  if (step.order === 'rotated') after.running.push(...after.running.splice(0, 1));
  const [a, b] = after.running;
  if (step.tradeIds && a && b) [a.id, b.id] = [b.id, a.id];
  if (step.retime && a) a.timeLimitMs = a.timeLimitMs === null ? 600_000 : null;
  const last = after.running.at(-1);
  if (step.reprioritize && last) Object.assign(last, { priority: last.priority + 5, preemptible: !last.preemptible });
  // What did not change is passed as the same object again (a snapshot is not changed once passed; the carry reads such a workload as unchanged).
  after.running = sameAgain(snapshot.running, after.running);
  after.pending = sameAgain(snapshot.pending, after.pending);
  return after;
}

/** `now`, with each workload equal to one of `before` (by id) as that very object. */
function sameAgain<W extends { id: string }>(before: readonly W[], now: W[]): W[] {
  const byId = new Map(before.map((w) => [w.id, w]));
  return now.map((w) => {
    const same = byId.get(w.id);
    return same && isDeepStrictEqual(same, w) ? same : w;
  });
}

describe('SchedulerCarry', () => {
  it('changes no plan: cycle after cycle, a carried fleet plans as a fresh one (property)', () => {
    fc.assert(
      fc.property(arbSchedulerInput, fc.array(arbStep, { minLength: 1, maxLength: 5 }), (input, steps) => {
        const carry = new SchedulerCarry();
        let snapshot = input.snapshot;
        let now = input.now;
        for (const step of steps) {
          const fresh = schedule(structuredClone(snapshot), input.config, now);
          const carried = schedule(step.fresh ? structuredClone(snapshot) : snapshot, input.config, now, { carry });
          expect(carried).toEqual(fresh);
          snapshot = next(snapshot, step, fresh, now);
          now += step.advanceMs;
        }
      }),
      { numRuns: Number(process.env["CARRY_RUNS"] ?? 300) },
    );
  });

  it('keeps each node\'s holders in snapshot order when the running work is listed in another order', () => {
    // Two alike victims on a full node: the first in snapshot order goes, so the order decides the plan.
    const node = { id: 'n', name: 'n', schedulable: true, labels: {}, cpus: 0, memoryMiB: 0, gpus: [0, 1].map((index) => ({ index, model: 'A', memoryMiB: 1 })) };
    const queue = { id: 'q', name: 'q', parentId: null, priority: 0, quotas: [], decayedUsage: {} };
    const on = (id: string, gpu: number) => ({ ...job(id, 1), startedAt: 0, releasing: false, allocations: [{ nodeId: 'n', gpuIndices: [gpu], gpuFraction: null, gpuModel: 'A', cpus: 0, memoryMiB: 0 }] });
    const running = [on('a', 0), on('b', 1)];
    const config = defaults();
    const carry = new SchedulerCarry();
    schedule({ nodes: [node], queues: [queue], running, pending: [] }, config, 1_000, { carry });
    const next = { nodes: [node], queues: [queue], running: [...running].reverse(), pending: [job('urgent', 1, { priority: 10, submittedAt: 1 })] };
    const fresh = schedule(structuredClone(next), config, 2_000);
    expect(fresh.preemptions.map((p) => p.workloadId)).toEqual(['b']);
    expect(schedule(next, config, 2_000, { carry })).toEqual(fresh);
  });

  it('reads the age of work passed again as the same object when time went back or the minimum runtime grew', () => {
    const node = { id: 'n', name: 'n', schedulable: true, labels: {}, cpus: 0, memoryMiB: 0, gpus: [{ index: 0, model: 'A', memoryMiB: 1 }] };
    const queue = { id: 'q', name: 'q', parentId: null, priority: 0, quotas: [], decayedUsage: {} };
    const running = [{ ...job('old', 1), startedAt: 0, releasing: false, allocations: [{ nodeId: 'n', gpuIndices: [0], gpuFraction: null, gpuModel: 'A', cpus: 0, memoryMiB: 0 }] }];
    const snapshot = { nodes: [node], queues: [queue], running, pending: [job('urgent', 1, { priority: 10, submittedAt: 1 })] };
    const config = { ...defaults(), minRuntimeMs: 60_000 };
    for (const [now, minRuntimeMs] of [[30_000, 60_000], [150_000, 200_000]] as const) {
      const carry = new SchedulerCarry();
      // Past the minimum runtime in the first cycle: preempted for the urgent workload.
      expect(schedule(snapshot, config, 100_000, { carry }).preemptions.map((p) => p.workloadId)).toEqual(['old']);
      const again = { ...config, minRuntimeMs };
      const fresh = schedule(structuredClone(snapshot), again, now);
      expect(fresh.preemptions).toEqual([]);
      expect(schedule(snapshot, again, now, { carry })).toEqual(fresh);
    }
  });

  it('starts afresh after a cycle that did not finish', () => {
    const carry = new SchedulerCarry();
    const nodes = [{ id: 'n', name: 'n', schedulable: true, labels: {}, cpus: 0, memoryMiB: 0, gpus: [{ index: 0, model: 'A', memoryMiB: 1 }] }];
    expect(carry.fleetFor(nodes, { ...defaults() })).toBeNull();
  });
});

function defaults() {
  return { placement: { default: 'binpack' as const, pools: {} }, poolLabel: 'pool', usageWeight: 1, minRuntimeMs: 0, reservations: 8, overtakeAfterMs: null, consolidation: 'off' as const };
}
