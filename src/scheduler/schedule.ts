import { allocate } from './allocate.js';
import { Cycle } from './cycle.js';
import { explainPending } from './explain.js';
import { scorerFor } from './fragmentation-scorer.js';
import type { PlacementScorer } from './placement.js';
import { makeRoom } from './make-room.js';
import type { ShapeTable } from './shapes.js';
import type { Plan, SchedulerConfig, Snapshot } from './types.js';

/**
 * The scheduler: a pure function of the fleet, its configuration and the time. Actions run in
 * order of disruption: allocate (with backfill reservations), then for each workload still
 * waiting, in order, consolidate, reclaim or preempt; every workload left pending comes out with
 * its reasons.
 */
export function schedule(snapshot: Snapshot, config: SchedulerConfig, now: number, scorer?: PlacementScorer, shapes?: ShapeTable): Plan {
  const cycle = new Cycle(snapshot, config, now, scorer ?? scorerFor(config, snapshot), shapes);
  allocate(cycle);
  makeRoom(cycle);
  explainPending(cycle);
  return cycle.plan;
}
