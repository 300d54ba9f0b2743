/**
 * Counts how often the scheduler's two-round stability properties break, instead of stopping at
 * the first failure as the property tests do: over `runs` random fleets generated as the tests
 * generate them (fast-check's `check`, same arbitrary and seed handling), each scheduled twice in
 * both victims modes (`src/scheduler/testing/stability.ts`). Not a speed benchmark: it prints
 * counts by mode and problem. `npm run count:scheduler-instability -- [runs=100000] [seed=1]`;
 * DUMP=<dir> writes each failing input there as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { arbSchedulerInput, type SchedulerInput } from '../src/scheduler/testing/arbitraries.js';
import { twoRounds, unclaimed, type VictimsMode } from '../src/scheduler/testing/stability.js';

const runs = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);
const dump = process.env['DUMP'];
if (dump) mkdirSync(dump, { recursive: true });

/** What went wrong, without the ids and amounts that differ from case to case. */
const kinds: [RegExp, string][] = [
  [/^\S+, placed in round one, is (\w+) in round two$/, 'placed in round one, $1 in round two'],
  [/^\S+ gets more victims.*/, 'more victims while the first release'],
  [/^reclaim goes back.*/, 'reclaim goes back'],
  [/^fair shares moved.*/, 'fair shares moved'],
];
const kindOf = (problem: string) => kinds.reduce((text, [pattern, kind]) => text.replace(pattern, kind), problem);

const counts = new Map<string, number>();
let failing = 0;
const started = performance.now();
fc.check(
  fc.property(arbSchedulerInput, (raw: SchedulerInput) => {
    const input = unclaimed(raw);
    for (const mode of ['releasing', 'requeue'] satisfies VictimsMode[]) {
      const { problems } = twoRounds(input, mode);
      if (problems.length === 0) continue;
      for (const kind of new Set(problems.map(kindOf))) {
        const key = `${mode}: ${kind} (overtakeAfterMs ${input.config.overtakeAfterMs})`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      if (dump) writeFileSync(join(dump, `${mode}-${seed}-${failing}.json`), JSON.stringify(input));
      failing++;
    }
    return true;
  }),
  { numRuns: runs, seed },
);
console.log(`${runs} random fleets, seed ${seed}, each scheduled twice in both modes (${((performance.now() - started) / 1000).toFixed(0)} s): ${failing} broke stability`);
for (const [key, n] of [...counts].sort()) console.log(`  ${n}  ${key}`);
