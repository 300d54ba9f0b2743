/**
 * Property tests of the scheduler on random small fleets (see `testing/arbitraries.ts`), judged by
 * the independent plan checker (`testing/check-plan.ts`).
 *
 * Reproduce a failure with the seed fast-check prints: `FC_SEED=<seed> npx vitest run
 * src/scheduler/schedule.properties.test.ts`; `FC_RUNS` changes the number of runs (200).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schedule } from './schedule.js';
import { arbSchedulerInput, type SchedulerInput } from './testing/arbitraries.js';
import { applyPlan, checkPlanDetailed, describeInput, describePlan, type Rule } from './testing/check-plan.js';
import type { Plan } from './types.js';

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const numRuns = Number(process.env.FC_RUNS ?? 200);
const params: fc.Parameters<[SchedulerInput]> = { numRuns, seed };

function run(input: SchedulerInput): Plan {
  return schedule(structuredClone(input.snapshot), input.config, input.now);
}

/** Asserts the plan breaks none of `rules`; the message shows the violations and the plan. */
function assertRules(input: SchedulerInput, plan: Plan, rules: readonly Rule[], round = ''): void {
  const found = checkPlanDetailed(input.snapshot, input.config, input.now, plan).filter((v) => rules.includes(v.rule));
  if (found.length > 0) {
    throw new Error(
      `${round}${found.map((v) => `${v.rule}: ${v.message}`).join('\n')}\ninput:\n${describeInput(input.snapshot, input.config, input.now)}\nplan:\n${describePlan(input.snapshot, plan)}`,
    );
  }
}

function property(rules: readonly Rule[]) {
  return () => {
    fc.assert(
      fc.property(arbSchedulerInput, (input) => assertRules(input, run(input), rules)),
      params,
    );
  };
}

describe(`scheduler properties (seed ${seed}, ${numRuns} runs each)`, () => {
  it('never over-allocates a GPU, cores or memory, and allocates what was asked on schedulable nodes', property(['gpu-overallocated', 'cpu-memory', 'allocation']));

  it('never takes a queue or any of its ancestors past a limit', property(['queue-limit']));

  it('never reclaims an in-guarantee workload, and never stops a protected one', property(['in-guarantee', 'protected', 'victim']));

  it('places a gang all or nothing, each workload at most once', property(['placement']));

  it('keeps required topology', property(['topology']));

  it('never lets backfill delay a reservation', property(['backfill', 'reservation']));

  it('only stops workloads when that makes the preemptor fit', property(['preemptor-fit']));

  it('explains every workload it leaves pending', property(['explanation']));

  it('keeps every invariant of a consolidation move', property(['move']));

  it('is stable: scheduling again while the victims release preempts nothing more', () => {
    fc.assert(
      fc.property(arbSchedulerInput, (input) => {
        const first = run(input);
        const next: SchedulerInput = { ...input, snapshot: applyPlan(input.snapshot, first, input.now, { victims: 'releasing' }) };
        const second = run(next);
        assertRules(next, second, ['gpu-overallocated', 'queue-limit', 'in-guarantee', 'protected', 'placement'], 'second round: ');
        if (second.preemptions.length > 0) {
          throw new Error(
            `second round preempts again:\ninput:\n${describeInput(input.snapshot, input.config, input.now)}\nfirst plan:\n${describePlan(input.snapshot, first)}\nsecond plan:\n${describePlan(next.snapshot, second)}`,
          );
        }
      }),
      params,
    );
  });

  it('is stable: once the victims are gone and requeued, no ping-pong (only in-queue cascades for requeued victims)', () => {
    fc.assert(
      fc.property(arbSchedulerInput, (input) => {
        const first = run(input);
        const next: SchedulerInput = { ...input, snapshot: applyPlan(input.snapshot, first, input.now) };
        const second = run(next);
        assertRules(next, second, ['gpu-overallocated', 'queue-limit', 'in-guarantee', 'protected', 'placement'], 'second round: ');
        const requeued = new Set(first.preemptions.map((p) => p.workloadId));
        // A requeued victim may in turn preempt strictly lower-priority work of its own queue: that
        // is priority order, not instability. Anything else (reclaim back, preempting what was just
        // placed, preempting for someone else) is.
        const further = second.preemptions.filter((p) => !(p.kind === 'preempt' && requeued.has(p.forWorkloadId)));
        if (further.length > 0) {
          throw new Error(
            `second round preempts again:\ninput:\n${describeInput(input.snapshot, input.config, input.now)}\nfirst plan:\n${describePlan(input.snapshot, first)}\nsecond plan:\n${describePlan(next.snapshot, second)}`,
          );
        }
      }),
      params,
    );
  });

  it('is deterministic and leaves its input alone', () => {
    fc.assert(
      fc.property(arbSchedulerInput, (input) => {
        const before = structuredClone(input.snapshot);
        const a = schedule(input.snapshot, input.config, input.now);
        expect(input.snapshot).toEqual(before);
        const b = schedule(structuredClone(before), input.config, input.now);
        expect(b).toEqual(a);
      }),
      params,
    );
  });
});
