import type { Plan, Snapshot } from '../../src/scheduler/types.js';
import { percentile } from '../report.js';
import { FleetState } from './fleet-state.js';
import { EPOCH, type Generated } from './generate.js';
import { seeded } from './random.js';
import type { Scenario } from './scenario.js';

export type Policy = (snapshot: Snapshot, now: number) => Plan;

/** How far a multi-replica workload got: `ms` is the policy time until its last replica was placed, null if it never was. */
export interface GroupOutcome {
  placed: number;
  total: number;
  ms: number | null;
}

export type StopReason = 'max cycles' | 'a cycle placed nothing on a frozen fleet' | 'backlog empty' | 'policy time budget';

export interface Measurement {
  cycleMs: number[];
  placements: number;
  placementsPerS: number;
  cycleP50Ms: number;
  cycleP99Ms: number;
  gang: GroupOutcome | null;
  reclaim: GroupOutcome | null;
  stoppedBy: StopReason;
  state: FleetState;
}

const CYCLE_INTERVAL_MS = 1000;
// Submissions are stamped EPOCH + their sequence number in ms; an hour later, every one of them is in the past.
const CLOCK_START = EPOCH + 3_600_000;
const CHURN_STREAM = 3;

/**
 * Runs `policy` in cycles as the control plane's loop does: plan, apply, let some work end, plan
 * again. Only the policy call is timed; applying stands in for the database and is not the policy's cost.
 */
export function measure(policy: Policy, generated: Generated, scenario: Scenario): Measurement {
  const state = new FleetState(generated);
  const { cycles } = scenario;
  const now = (cycle: number) => CLOCK_START + cycle * CYCLE_INTERVAL_MS;
  // Warm-up plans are thrown away: they only let the JIT see the real shapes before timing starts.
  for (let i = 0; i < cycles.warmup; i++) policy(state.snapshot(), now(0));

  const churn = seeded(scenario.seed, CHURN_STREAM);
  const gang = tracker(generated.gangIds);
  const reclaim = tracker(generated.reclaimIds);
  const cycleMs: number[] = [];
  let placements = 0;
  let elapsed = 0;
  let stoppedBy: StopReason = 'max cycles';
  for (let cycle = 0; cycle < cycles.max; cycle++) {
    const snapshot = state.snapshot();
    const started = performance.now();
    const plan = policy(snapshot, now(cycle));
    const ms = performance.now() - started;
    const placed = state.apply(plan);
    cycleMs.push(ms);
    elapsed += ms;
    placements += placed.length;
    gang.record(placed, elapsed);
    reclaim.record(placed, elapsed);
    if (elapsed > cycles.maxPolicySeconds * 1000) {
      stoppedBy = 'policy time budget';
      break;
    }
    // Nothing ends and nothing arrives: the next plan would be the same.
    if (cycles.finishShare === 0 && !cycles.refill && placed.length === 0) {
      stoppedBy = 'a cycle placed nothing on a frozen fleet';
      break;
    }
    if (state.pending.length === 0 && !cycles.refill) {
      stoppedBy = 'backlog empty';
      break;
    }
    state.finish(Math.round(cycles.finishShare * state.allocations.length), churn);
    if (cycles.refill) state.refill(scenario.pending.count, generated.nextPending);
  }
  return {
    cycleMs,
    placements,
    placementsPerS: elapsed > 0 ? placements / (elapsed / 1000) : 0,
    cycleP50Ms: percentile(cycleMs, 50),
    cycleP99Ms: percentile(cycleMs, 99),
    gang: gang.outcome(),
    reclaim: reclaim.outcome(),
    stoppedBy,
    state,
  };
}

function tracker(ids: string[]) {
  const waiting = new Set(ids);
  let ms: number | null = null;
  return {
    record(placed: string[], elapsed: number) {
      if (waiting.size === 0) return;
      for (const id of placed) waiting.delete(id);
      if (waiting.size === 0) ms = elapsed;
    },
    outcome: (): GroupOutcome | null => (ids.length === 0 ? null : { placed: ids.length - waiting.size, total: ids.length, ms }),
  };
}
