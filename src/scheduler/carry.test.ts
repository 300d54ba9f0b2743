import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SchedulerCarry } from './carry.js';
import { schedule } from './schedule.js';
import { arbSchedulerInput } from './testing/arbitraries.js';
import { applyPlan } from './testing/check-plan.js';
import type { Snapshot } from './types.js';

type Step = typeof arbStep extends fc.Arbitrary<infer T> ? T : never;

/** What happens between two cycles: the plan is carried out, some running work ends, time passes, maybe a node is cordoned. */
const arbStep = fc.record({
  victims: fc.constantFrom('requeue' as const, 'releasing' as const),
  /** Every running workload at a position ≡ this (mod 3) ends; 3 ends none. */
  ends: fc.integer({ min: 0, max: 3 }),
  advanceMs: fc.constantFrom(1_000, 30_000, 120_000),
  cordon: fc.boolean(),
  /** The snapshot as new objects (as the store reads it) or the same objects again. */
  fresh: fc.boolean(),
});

function next(snapshot: Snapshot, step: Step, plan: Parameters<typeof applyPlan>[1], now: number): Snapshot {
  const after = applyPlan(snapshot, plan, now, { victims: step.victims });
  after.running = after.running.filter((_, i) => i % 3 !== step.ends);
  if (step.cordon && after.nodes[0]) after.nodes[0].schedulable = !after.nodes[0].schedulable;
  return after;
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
      { numRuns: 300 },
    );
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
