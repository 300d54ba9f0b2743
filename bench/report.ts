import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One row of a benchmark's results file (ARCHITECTURE.md conventions): the metric, and the same metric for the reference. */
export interface BenchResult {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  baseline: number | null;
  baselineName?: string;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const round = (v: number | null) => (v === null ? '' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));

/** Prints the table and writes bench/results/<name>.json. */
export function report(bench: string, results: BenchResult[], outDir: string): string {
  const rows = results.map((r) => [r.scenario, r.metric, round(r.value), r.unit, round(r.baseline), r.baselineName ?? '']);
  const header = ['SCENARIO', 'METRIC', 'VALUE', 'UNIT', 'BASELINE', 'BASELINE IS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log([line(header), ...rows.map(line)].join('\n'));
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${bench}.json`);
  writeFileSync(file, `${JSON.stringify({ bench, results }, null, 2)}\n`);
  return file;
}
