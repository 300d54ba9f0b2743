/**
 * Runs every scenario in `scenarios/*.yaml` through the scheduler: the plan must match the file's
 * expectations and keep every plan invariant (`testing/check-plan.ts`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { schedule } from './schedule.js';
import { applyPlan, checkPlan, describePlan } from './testing/check-plan.js';
import { parseScenario } from './testing/scenario-file.js';
import { compareWithExpectation } from './testing/scenario-expect.js';

const dir = fileURLToPath(new URL('./scenarios/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
  .sort();

describe('scheduler scenarios', () => {
  it('has scenario files', () => {
    expect(files.length).toBeGreaterThanOrEqual(14);
  });

  for (const file of files) {
    it(file.replace(/\.ya?ml$/, ''), () => {
      const scenario = parseScenario(readFileSync(join(dir, file), 'utf8'), file);
      const plan = schedule(structuredClone(scenario.snapshot), scenario.config, scenario.now);
      const problems = [
        ...compareWithExpectation(scenario, plan),
        ...checkPlan(scenario.snapshot, scenario.config, scenario.now, plan).map((v) => `invariant ${v}`),
      ];
      if (problems.length > 0) {
        throw new Error(`${file}: ${scenario.description}\n${problems.map((p) => `- ${p}`).join('\n')}\nplan:\n${describePlan(scenario.snapshot, plan)}`);
      }
    });

    it(`${file.replace(/\.ya?ml$/, '')}: a second round, with the victims still releasing, preempts nothing more`, () => {
      const scenario = parseScenario(readFileSync(join(dir, file), 'utf8'), file);
      const plan = schedule(structuredClone(scenario.snapshot), scenario.config, scenario.now);
      const next = applyPlan(scenario.snapshot, plan, scenario.now, { victims: 'releasing' });
      const again = schedule(structuredClone(next), scenario.config, scenario.now);
      const problems = checkPlan(next, scenario.config, scenario.now, again).map((v) => `invariant ${v}`);
      if (again.preemptions.length > 0) problems.unshift(`second round preempts ${again.preemptions.length} more`);
      if (problems.length > 0) {
        throw new Error(
          `${file}:\n${problems.map((p) => `- ${p}`).join('\n')}\nfirst plan:\n${describePlan(scenario.snapshot, plan)}\nsecond plan:\n${describePlan(next, again)}`,
        );
      }
    });
  }
});
