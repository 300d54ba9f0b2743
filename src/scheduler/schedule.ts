import { allocate } from './allocate.js';
import type { SchedulerCarry } from './carry.js';
import { Cycle } from './cycle.js';
import { explainPending } from './explain.js';
import { scorerFor } from './fragmentation-scorer.js';
import type { PlacementScorer } from './placement.js';
import { makeRoom } from './make-room.js';
import type { ShapeTable } from './shapes.js';
import type { Plan, SchedulerConfig, Snapshot } from './types.js';

export interface ScheduleOptions {
  /** The placement scorer; by default the one the config asks for, built from the snapshot. */
  scorer?: PlacementScorer;
  /** Numbers workloads by shape; one that never reuses a number turns sharing findings off (tests). */
  shapes?: ShapeTable;
  /**
   * Kept by a caller that schedules again and again: saves rebuilding the fleet and reading work
   * seen in the last cycle, changes no plan. With a carry, a snapshot's objects are not changed
   * once passed: a workload passed again as the same object is taken as unchanged.
   */
  carry?: SchedulerCarry;
}

/**
 * The scheduler: a pure function of the fleet, its configuration and the time. Actions run in
 * order of disruption: allocate (with backfill reservations), then for each workload still
 * waiting, in order, consolidate, reclaim or preempt; every workload left pending comes out with
 * its reasons.
 */
export function schedule(snapshot: Snapshot, config: SchedulerConfig, now: number, options: ScheduleOptions = {}): Plan {
  const { carry } = options;
  const scorer = options.scorer ?? carry?.scorerFor(config, snapshot) ?? scorerFor(config, snapshot);
  const cycle = new Cycle(snapshot, config, now, scorer, options.shapes, carry ?? null);
  allocate(cycle);
  makeRoom(cycle);
  explainPending(cycle);
  carry?.finish();
  return cycle.plan;
}
