import type { PendingWorkload, Plan, Snapshot } from '../../src/scheduler/types.js';
import { percentile } from '../report.js';
import { FleetState } from './fleet-state.js';
import { EPOCH, type Generated } from './generate.js';
import { seeded } from './random.js';
import type { Scenario } from './scenario.js';

export type Policy = (snapshot: Snapshot, now: number) => Plan;

/** Whether a watched multi-replica workload was placed: `ms` is the policy time until it was (all its replicas at once), null if it never was. */
export interface GroupOutcome {
  /** Replicas placed: all or none. */
  placed: number;
  total: number;
  ms: number | null;
}

export type StopReason = 'max cycles' | 'a cycle placed nothing on a frozen fleet' | 'backlog empty' | 'policy time budget';

export interface Measurement {
  cycleMs: number[];
  /** Workloads placed (a multi-replica workload counts once). */
  placements: number;
  preemptions: number;
  moves: number;
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
 * Runs `policy` in cycles as the control plane's loop does: plan, apply (placements, moves,
 * preemptions), let some work end, plan again. Only the policy call is timed; applying stands in for
 * the database and is not the policy's cost. A watched workload's time is the policy time of every
 * cycle up to the one that placed it: for the reclaim, the cycles that preempt and the one that places.
 */
export function measure(policy: Policy, generated: Generated, scenario: Scenario): Measurement {
  const state = new FleetState(generated);
  const { cycles } = scenario;
  const now = (cycle: number) => CLOCK_START + cycle * CYCLE_INTERVAL_MS;
  // Warm-up plans are thrown away: they only let the JIT see the real shapes before timing starts.
  for (let i = 0; i < cycles.warmup; i++) policy(state.snapshot(), now(0));

  const churn = seeded(scenario.seed, CHURN_STREAM);
  const gang = tracker(generated.gangId, generated.snapshot.pending);
  const reclaim = tracker(generated.reclaimId, generated.snapshot.pending);
  const cycleMs: number[] = [];
  let placements = 0;
  let preemptions = 0;
  let moves = 0;
  let elapsed = 0;
  let stoppedBy: StopReason = 'max cycles';
  for (let cycle = 0; cycle < cycles.max; cycle++) {
    const snapshot = state.snapshot();
    const started = performance.now();
    const plan = policy(snapshot, now(cycle));
    const ms = performance.now() - started;
    const { placed, preempted, moved } = state.apply(plan, now(cycle));
    cycleMs.push(ms);
    elapsed += ms;
    placements += placed.length;
    preemptions += preempted.length;
    moves += moved.length;
    gang.record(placed, elapsed);
    reclaim.record(placed, elapsed);
    if (elapsed > cycles.maxPolicySeconds * 1000) {
      stoppedBy = 'policy time budget';
      break;
    }
    // Nothing ends, nothing arrives, and the plan changed nothing: the next plan would be the same.
    if (cycles.finishShare === 0 && !cycles.refill && placed.length + preempted.length + moved.length === 0) {
      stoppedBy = 'a cycle placed nothing on a frozen fleet';
      break;
    }
    if (state.pending.length === 0 && !cycles.refill) {
      stoppedBy = 'backlog empty';
      break;
    }
    state.finish(Math.round(cycles.finishShare * state.running.length), churn);
    if (cycles.refill) state.refill(scenario.pending.count, generated.nextPending);
  }
  return {
    cycleMs,
    placements,
    preemptions,
    moves,
    placementsPerS: elapsed > 0 ? placements / (elapsed / 1000) : 0,
    cycleP50Ms: percentile(cycleMs, 50),
    cycleP99Ms: percentile(cycleMs, 99),
    gang: gang.outcome(),
    reclaim: reclaim.outcome(),
    stoppedBy,
    state,
  };
}

function tracker(id: string | null, pending: readonly PendingWorkload[]) {
  const total = pending.find((w) => w.id === id)?.replicas ?? 0;
  let ms: number | null = null;
  return {
    record(placed: string[], elapsed: number) {
      if (ms === null && id !== null && placed.includes(id)) ms = elapsed;
    },
    outcome: (): GroupOutcome | null => (id === null ? null : { placed: ms === null ? 0 : total, total, ms }),
  };
}
