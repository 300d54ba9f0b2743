import type { BenchResult } from '../report.js';
import { generate } from './generate.js';
import { measure, type Measurement, type Policy } from './measure.js';
import { BASELINE_POLICY } from './policies.js';
import type { ReplicaGroup, Scenario, ScenarioFile } from './scenario.js';

interface Figure {
  metric: string;
  value: number | null;
  unit: string;
  /** Why there is no value. */
  missing?: string;
}

export interface RunOutput {
  results: BenchResult[];
  /** What the table cannot say: cycles run, why a run stopped, figures left out and why. */
  notes: string[];
}

/** Measures every scenario of `file` under every policy; `only` picks scenarios by name. */
export function runScenarios(file: ScenarioFile, policies: Record<string, Policy>, only: string[] = [], log: (line: string) => void = () => {}): RunOutput {
  const results: BenchResult[] = [];
  const notes: string[] = [];
  for (const scenario of file.scenarios) {
    if (only.length > 0 && !only.includes(scenario.name)) continue;
    const figures = new Map<string, Figure[]>();
    for (const [name, policy] of Object.entries(policies)) {
      collectGarbage();
      log(`${scenario.name} [${name}]: generating and measuring…`);
      const m = measure(policy, generate(file, scenario), scenario);
      const label = labelOf(scenario, name);
      const seconds = (m.cycleMs.reduce((a, b) => a + b, 0) / 1000).toFixed(1);
      const disruptions = m.preemptions + m.moves > 0 ? `, ${m.preemptions} preemptions, ${m.moves} moves` : '';
      notes.push(`${label}: ${m.cycleMs.length} cycles, ${m.placements} placements${disruptions}, ${seconds} s in the policy, stopped: ${m.stoppedBy}`);
      if (m.stoppedBy === 'policy time budget')
        notes.push(`${label}: figures cover those ${m.cycleMs.length} cycles only (budget ${scenario.cycles.maxPolicySeconds} s), not extrapolated`);
      figures.set(name, figuresOf(scenario, m));
    }
    const baseline = figures.get(BASELINE_POLICY);
    for (const [name, list] of figures) {
      const label = labelOf(scenario, name);
      for (const f of list) {
        if (f.value === null) {
          notes.push(`${label}: ${f.metric} not reported: ${f.missing}`);
          continue;
        }
        // The baseline policy's own rows carry its own figure, so every row reads the same way: value vs. FIFO.
        const reference = baseline?.find((b) => b.metric === f.metric)?.value ?? null;
        results.push({ scenario: label, metric: f.metric, value: f.value, unit: f.unit, baseline: reference, baselineName: `${BASELINE_POLICY}, same run` });
      }
    }
  }
  return { results, notes };
}

function labelOf(scenario: Scenario, policy: string): string {
  // Say how a group reached the policy: one workload whose replicas all start or none do.
  const group = scenario.gang ?? scenario.reclaim;
  const how = group ? ` as one workload of ${group.replicas} × ${group.gpusPerReplica} GPU` : '';
  return `${scenario.name} [${policy}]${how}`;
}

function figuresOf(scenario: Scenario, m: Measurement): Figure[] {
  const figures: Figure[] = [
    { metric: 'placements_per_s', value: m.placementsPerS, unit: 'placements/s' },
    { metric: 'cycle_p50_ms', value: m.cycleP50Ms, unit: 'ms' },
    { metric: 'cycle_p99_ms', value: m.cycleP99Ms, unit: 'ms' },
  ];
  const group = (metric: string, spec: ReplicaGroup | undefined, outcome: Measurement['gang']) => {
    if (!spec || !outcome) return;
    const missing = `not placed (${outcome.total} replicas, ${outcome.total * spec.gpusPerReplica} GPUs, all or none) in ${m.cycleMs.length} cycles (${m.stoppedBy})`;
    figures.push({ metric, value: outcome.ms, unit: 'ms', missing });
  };
  group(`gang_${scenario.gang?.replicas}_ms`, scenario.gang, m.gang);
  group(`reclaim_${(scenario.reclaim?.replicas ?? 0) * (scenario.reclaim?.gpusPerReplica ?? 0)}gpu_ms`, scenario.reclaim, m.reclaim);
  return figures;
}

/** Between runs, so one policy's garbage is not collected on the next one's clock; only when node runs with --expose-gc. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
