/**
 * bench:scheduler — the pure scheduler core on generated fleets (bench/scheduler/scenarios/*.yaml):
 * placements/s and cycle times under a steady backlog, time to place a gang, time to reclaim. Every
 * policy of bench/scheduler/policies.ts runs every scenario; the baseline is FIFO in the same run.
 * Arguments, if any, pick scenarios by name. Run node with --expose-gc to collect garbage between runs.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { report, type BenchResult } from './report.js';
import { policies } from './scheduler/policies.js';
import { runScenarios } from './scheduler/run.js';
import { loadScenarioFile } from './scheduler/scenario.js';

const repoRoot = resolve(import.meta.dirname, '..');
const scenarioDir = join(repoRoot, 'bench', 'scheduler', 'scenarios');
const only = process.argv.slice(2);
const started = performance.now();
const results: BenchResult[] = [];
const notes: string[] = [];
for (const name of readdirSync(scenarioDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
  const output = runScenarios(loadScenarioFile(join(scenarioDir, name)), policies, only, (line) => console.log(line));
  results.push(...output.results);
  notes.push(...output.notes);
}
console.log();
const file = report('scheduler', results, join(repoRoot, 'bench', 'results'));
console.log(`\n${notes.join('\n')}`);
console.log(`\nresults written to ${file} (${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
