import { Cycle } from '../cycle.js';
import { schedule } from '../schedule.js';
import type { Plan, Snapshot } from '../types.js';
import type { SchedulerInput } from './arbitraries.js';
import { applyPlan } from './check-plan.js';

/** How round two sees round one's victims: still releasing what they hold, or gone and pending again. */
export type VictimsMode = 'releasing' | 'requeue';

export interface TwoRounds {
  first: Plan;
  /** The snapshot after round one's plan. */
  next: Snapshot;
  second: Plan;
  /** What round two did that stability forbids (empty when none). */
  problems: string[];
}

/**
 * What stability promises: no ping-pong. Round two never reclaims what round one placed, never
 * takes back through reclaim what round one reclaimed (victim and reclaimer queues swapped), and
 * while the victims release, never finds more victims for a workload round one already made room
 * for. A victim of round one that is pending again (once requeued) competes afresh and may reclaim
 * a fair share, just never back. In-queue preemption only ever goes down in priority, so it cannot
 * loop: a higher-priority workload that could not start in round one (its quota was held, a move
 * had not yet freed its rack) may still preempt lower-priority work that round one placed. Round
 * one may also make room for a different workload's preemption; that is progress, not a loop.
 * `roundOneCould` says whether round one could have made a reclaim round two makes (when the
 * victims are requeued, a reclaim may need room only their going freed).
 */
export function pingPong(first: Plan, second: Plan, before: Snapshot, victimsMode: VictimsMode, roundOneCould: (reclaimer: string) => boolean = () => true): string[] {
  const claimsHold = victimsMode === 'releasing';
  const placed = new Set(first.placements.map((p) => p.workloadId));
  const preemptors = new Set(first.preemptions.map((p) => p.forWorkloadId));
  const victims = new Set(first.preemptions.map((p) => p.workloadId));
  const queueOf = new Map([...before.running, ...before.pending].map((w) => [w.id, w.queueId]));
  const reclaimed = new Set(first.preemptions.filter((p) => p.kind === 'reclaim').map((p) => `${queueOf.get(p.workloadId)}>${queueOf.get(p.forWorkloadId)}`));
  const problems: string[] = [];
  for (const p of second.preemptions) {
    // A victim of round one that is pending again competes afresh; it may reclaim, but never back.
    const requeuedVictim = !claimsHold && victims.has(p.forWorkloadId);
    if (placed.has(p.workloadId) && p.kind !== 'preempt' && !requeuedVictim && roundOneCould(p.forWorkloadId)) problems.push(`${p.workloadId}, placed in round one, is ${p.kind}ed in round two`);
    if (claimsHold && preemptors.has(p.forWorkloadId)) problems.push(`${p.forWorkloadId} gets more victims while its first ones release`);
    if (p.kind === 'reclaim' && reclaimed.has(`${queueOf.get(p.forWorkloadId)}>${queueOf.get(p.workloadId)}`)) problems.push(`reclaim goes back: ${p.workloadId} for ${p.forWorkloadId}`);
  }
  return problems;
}

/**
 * A claim in a random snapshot was never earned (no work was stopped for it, and the plan holds
 * what it is given first); round one's preemptions make the claims round two sees.
 */
export function unclaimed(input: SchedulerInput): SchedulerInput {
  return { ...input, snapshot: { ...input.snapshot, pending: input.snapshot.pending.map(({ claimedAt: _c, ...w }) => w) } };
}

/** Schedules `input`, applies the plan as `victimsMode` says, schedules again, and judges the second plan. */
export function twoRounds(input: SchedulerInput, victimsMode: VictimsMode): TwoRounds {
  const first = schedule(structuredClone(input.snapshot), input.config, input.now);
  const next = applyPlan(input.snapshot, first, input.now, { victims: victimsMode });
  const second = schedule(structuredClone(next), input.config, input.now);
  const could = victimsMode === 'requeue' ? (reclaimer: string) => startsWhileVictimsRelease(input, first, second, reclaimer) : undefined;
  const problems = pingPong(first, second, input.snapshot, victimsMode, could);
  const [before, after] = [fairShares(input.snapshot, input), fairShares(next, input)];
  if (before !== after) problems.push(`fair shares moved: ${before} became ${after}`);
  return { first, next, second, problems };
}

/**
 * Each queue's fair share as a cycle computes it from `snapshot` (rounded to a millionth), as
 * JSON. Demand is the same waiting, running, stopping for another workload or requeued, so a plan
 * carried out moves no fair share: a share that moved could let another queue reclaim what the
 * plan placed.
 */
function fairShares(snapshot: Snapshot, input: SchedulerInput): string {
  const cycle = new Cycle(structuredClone(snapshot), input.config, input.now);
  const round = (amounts: Record<string, number>) => Object.fromEntries(Object.entries(amounts).map(([k, v]) => [k, Math.round(v * 1e6) / 1e6]));
  return JSON.stringify(Object.fromEntries([...cycle.tree.queues].map(([id, q]) => [id, round(q.deserved)])));
}

/**
 * Whether `reclaimer`, which round two reclaims for, would start with its round-two victims gone
 * while round one's victims still hold their room (their preemptors keep their claims): then
 * round one could have made the reclaim instead of placing what round two takes. Once requeued,
 * round one's victims free what their preemptors do not take (a 4-GPU gang stopped for a 1-GPU
 * workload, memory the preemptor does not ask for), and a reclaim that needs that room is progress
 * on a state that changed, not a place taken back: the releasing mode, whose state is unchanged,
 * allows no such reclaim.
 */
function startsWhileVictimsRelease(input: SchedulerInput, first: Plan, second: Plan, reclaimer: string): boolean {
  const held = applyPlan(input.snapshot, first, input.now, { victims: 'releasing' });
  const victims = new Set(second.preemptions.filter((p) => p.forWorkloadId === reclaimer).map((p) => p.workloadId));
  const snapshot: Snapshot = {
    ...held,
    running: held.running.filter((r) => !victims.has(r.id)),
    pending: held.pending.filter((p) => p.id === reclaimer || p.claimedAt != null),
  };
  return schedule(snapshot, input.config, input.now).placements.some((p) => p.workloadId === reclaimer);
}
