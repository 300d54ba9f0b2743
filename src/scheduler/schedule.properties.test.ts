/**
 * Property tests of the scheduler on random small fleets (see `testing/arbitraries.ts`), judged by
 * the independent plan checker (`testing/check-plan.ts`).
 *
 * Reproduce a failure with the seed fast-check prints: `FC_SEED=<seed> npx vitest run
 * src/scheduler/schedule.properties.test.ts`; `FC_RUNS` changes the number of runs (200).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schedule } from './schedule.js';
import { arbSchedulerInput, type SchedulerInput } from './testing/arbitraries.js';
import { checkPlanDetailed, describeInput, describePlan, type Rule } from './testing/check-plan.js';
import { twoRounds, unclaimed, type VictimsMode } from './testing/stability.js';
import type { Plan } from './types.js';

/** A shrunk input a property once failed on, kept in `testing/cases/` as fast-check printed it. */
function loadCase(name: string): SchedulerInput {
  return JSON.parse(readFileSync(new URL(`./testing/cases/${name}.json`, import.meta.url), 'utf8')) as SchedulerInput;
}

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

// fast-check names the seed (and the shrink path) in every failure; FC_SEED=<seed> replays it.
describe('scheduler properties', () => {
  it('never over-allocates a GPU, cores or memory, and allocates what was asked on schedulable nodes', property(['gpu-overallocated', 'cpu-memory', 'allocation']));

  it('never takes a queue or any of its ancestors past a limit', property(['queue-limit']));

  it('never reclaims an in-guarantee workload, and never stops a protected one', property(['in-guarantee', 'protected', 'victim']));

  it('places a gang all or nothing, each workload at most once', property(['placement']));

  it('keeps required topology', property(['topology']));

  it('never lets backfill delay a reservation', property(['backfill', 'reservation']));

  it('only stops workloads when that makes the preemptor fit', property(['preemptor-fit']));

  it('explains every workload it leaves pending', property(['explanation']));

  it('keeps every invariant of a consolidation move', property(['move']));

  /** Schedules twice, the second time after applying the first plan, and throws on ping-pong (`testing/stability.ts`). */
  const assertStable = (input: SchedulerInput, victims: VictimsMode): void => {
    const { first, next, second, problems } = twoRounds(input, victims);
    const nextInput: SchedulerInput = { ...input, snapshot: next };
    assertRules(nextInput, second, ['gpu-overallocated', 'queue-limit', 'in-guarantee', 'protected', 'placement'], 'second round: ');
    if (problems.length > 0) {
      throw new Error(
        `${problems.join('\n')}\ninput:\n${describeInput(input.snapshot, input.config, input.now)}\nfirst plan:\n${describePlan(input.snapshot, first)}\nsecond plan:\n${describePlan(next, second)}`,
      );
    }
  };

  const stable = (victims: VictimsMode) => () => {
    fc.assert(
      fc.property(arbSchedulerInput, (input) => assertStable(unclaimed(input), victims)),
      params,
    );
  };

  // Cases these properties found, kept so that they run every time (testing/cases/): what each
  // checks, the file, and how round two sees round one's victims.
  const kept: [string, string, VictimsMode][] = [
    ['keeps room being released for a preemptor from shares placed beside its victims', 'claimed-share-beside-victims', 'releasing'],
    ['keeps the room a preemptor will start in when its victims were stopped to bring its queue under a limit', 'claimant-room-away-from-its-victims', 'releasing'],
    ['withdraws, for a reclaim, what a queue placed this cycle when its parent is over its share', 'freed-room-taken-by-a-child-queue', 'requeue'],
    ['does not reclaim, in the next cycle, what an overdue workload took by overtaking a younger one', 'overtaker-reclaimed-next-cycle', 'requeue'],
    ['does not let a workload submitted at the same time reclaim an overtaker: ties in age go by id', 'overtaker-reclaimed-by-one-as-old', 'requeue'],
    ['gives a workload that found no victims another turn once a later one has made room: what it may reclaim can have changed hands', 'reclaim-after-a-place-changed-hands', 'releasing'],
    ['keeps a place won by age from younger work of the same queue: age, priority and fair share do not go round', 'age-priority-and-fair-share-in-a-round', 'releasing'],
    ['places a preemptor first once its victims have gone, and looks again for room a preemption freed from lending limits', 'claim-outlives-its-victims', 'requeue'],
    ['counts a request by GPU memory in demand alike while it waits and once it runs, so fair shares do not move', 'memory-request-demand-unchanged-once-placed', 'requeue'],
    ['counts a workload that accepts several GPU models in demand for each, waiting or running', 'multi-model-demand-unchanged-once-placed', 'releasing'],
    ['gives those without room another turn once a workload that gave its place is placed again', 'withdrawn-workload-placed-again-before-a-reclaim', 'releasing'],
    ['does not let a gang wait for a consolidation that moves nothing', 'consolidation-with-nothing-to-move', 'releasing'],
    ['leaves room released for no one, beside a preemptor\'s victims, to the workload that waits for it', 'room-released-for-no-one-beside-a-claimant', 'releasing'],
    ['counts a preemptor in its queue\'s demand once while its victims release, not again for the room it holds', 'claimant-demand-counted-once', 'releasing'],
    ['counts a share of a GPU that accepts several models in demand for each, waiting or running', 'share-on-several-models-demand-unchanged-once-placed', 'releasing'],
    ['keeps work stopped for another in its queue\'s demand while it releases', 'victim-demand-kept-while-it-releases', 'releasing'],
    ['gives a queue of over-quota weight 0 the same fair share whether its share of a GPU waits or runs', 'zero-weight-fair-share-unchanged-once-placed', 'releasing'],
    ['passes the turn to the next queue once a workload holds room released for no one, as a placement does', 'released-room-hold-passes-the-turn', 'releasing'],
    ["keeps a reservation's room under its queue's limits from work placed after it", 'reservation-keeps-its-queue-limit', 'releasing'],
    ["keeps a reservation's room under its queue's limits from work placed after it (victims requeued)", 'reservation-keeps-its-queue-limit', 'requeue'],
  ];
  for (const [title, file, victims] of kept) it(title, () => assertStable(loadCase(file), victims));

  it('is stable while the victims release: no ping-pong, and what is released stays claimed by its preemptor', stable('releasing'));

  it('is stable once the victims are gone and requeued: no ping-pong', stable('requeue'));

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
