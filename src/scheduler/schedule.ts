import { allocate } from './allocate.js';
import { consolidate } from './consolidate.js';
import { Cycle } from './cycle.js';
import { explainPending } from './explain.js';
import type { PlacementScorer } from './placement.js';
import { reclaimAndPreempt } from './preempt.js';
import type { Plan, SchedulerConfig, Snapshot } from './types.js';

/**
 * The scheduler: a pure function of the fleet, its configuration and the time. Actions run in
 * order of disruption: allocate (with backfill reservations), consolidate, then reclaim and
 * preempt; every workload left pending comes out with its reasons.
 */
export function schedule(snapshot: Snapshot, config: SchedulerConfig, now: number, scorer?: PlacementScorer): Plan {
  const cycle = new Cycle(snapshot, config, now, scorer);
  allocate(cycle);
  consolidate(cycle);
  reclaimAndPreempt(cycle);
  explainPending(cycle);
  return cycle.plan;
}
