import { readFileSync } from 'node:fs';
import type { SchedulerInput } from './arbitraries.js';

/** A shrunk input a property test once failed on, stored in `cases/` as fast-check printed it. */
export function loadCase(name: string): SchedulerInput {
  return JSON.parse(readFileSync(new URL(`./cases/${name}.json`, import.meta.url), 'utf8')) as SchedulerInput;
}
