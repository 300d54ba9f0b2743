import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { victimBounds } from './preempt.js';
import { schedule } from './schedule.js';
import { arbSchedulerInput, type SchedulerInput } from './testing/arbitraries.js';

const numRuns = Number(process.env.FC_RUNS ?? 200);

function bothWays(input: SchedulerInput): void {
  victimBounds.on = true;
  const bounded = schedule(structuredClone(input.snapshot), input.config, input.now);
  victimBounds.on = false;
  const searched = schedule(structuredClone(input.snapshot), input.config, input.now);
  expect(bounded).toEqual(searched);
}

describe('victim search bound', () => {
  afterEach(() => {
    victimBounds.on = true;
  });

  it('skipping the searches the bound rules out changes no plan (property)', () => {
    fc.assert(fc.property(arbSchedulerInput, bothWays), { numRuns });
  });
});
