import { schedule } from '../../scheduler/schedule.js';
import { SchedulerCarry } from '../../scheduler/carry.js';
import type { Move, Plan } from '../../scheduler/types.js';
import { setPendingReasons } from '../../store/workloads-repo.js';
import { inTransaction } from '../../store/transaction.js';
import { requeueReleasedPreemptions } from '../services/replica-lifecycle.js';
import type { ControlContext } from '../context.js';
import { topics } from '../wakeups.js';
import { readSnapshot } from './snapshot.js';
import { applyPlan } from './plan-applier.js';

/**
 * Runs scheduling cycles: when woken (a submit, a finished replica, a new node), and on a short
 * timer as a safety net. Cycles never overlap. After a cycle the loop rests as long as that cycle
 * took, so that under a burst of submissions the scheduler holds the database at most half the
 * time and the submissions that arrive meanwhile are planned together; an idle fleet never waits.
 */
export class SchedulerLoop {
  private running = false;
  private again = false;
  private stopped = false;
  private nextAllowedAt = 0;
  private deferred: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private idle: Promise<void> = Promise.resolve();
  /** The last cycle's fleet, reused while the nodes stay the same; plans are the same without it. */
  private readonly carry = new SchedulerCarry();

  constructor(
    private readonly ctx: ControlContext,
    /** Teams over budget (team id → reason); none when budgets are not configured. */
    private readonly heldTeams: () => Promise<ReadonlyMap<string, string>> = async () => new Map(),
  ) {}

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.ctx.wakeups.on(topics.schedule, () => this.trigger());
    this.timer = setInterval(() => this.trigger(), this.ctx.config.schedulerIntervalMs);
    this.trigger();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.deferred);
    this.unsubscribe?.();
    await this.idle;
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const wait = this.nextAllowedAt - performance.now();
    if (wait > 0) {
      this.deferred ??= setTimeout(() => {
        this.deferred = undefined;
        this.trigger();
      }, wait);
      return;
    }
    this.running = true;
    this.idle = this.runCycle();
  }

  private async runCycle(): Promise<void> {
    const started = performance.now();
    try {
      await this.cycle();
    } catch (err) {
      this.ctx.logger.error({ err }, 'scheduling cycle failed; retrying on the next tick');
    }
    const ended = performance.now();
    this.nextAllowedAt = ended + (ended - started);
    this.running = false;
    if (this.again) {
      this.again = false;
      this.trigger();
    }
  }

  /** One cycle: snapshot → pure plan → validated commit → explanations for what still waits. */
  async cycle(): Promise<{ admitted: number; pending: number }> {
    const started = process.hrtime.bigint();
    // Preempted workloads whose replicas all ended go back to pending even if a report was missed.
    if ((await inTransaction(this.ctx.db, requeueReleasedPreemptions)).length > 0) this.ctx.metrics.requeued.inc({ reason: 'preempted' });
    const now = this.ctx.now();
    const { scheduler, fairShareHalfLifeMs } = this.ctx.scheduling;
    const { snapshot, pendingRows, placedGenerations, budgetHeld } = await readSnapshot(this.ctx.db, now, fairShareHalfLifeMs, await this.heldTeams());
    await setPendingReasons(this.ctx.db, budgetHeld.filter((h) => !sameReasons(pendingRows.get(h.id)?.reasons, h.reasons)));
    if (snapshot.pending.length === 0) {
      this.ctx.metrics.pending.set(0);
      return { admitted: 0, pending: 0 };
    }
    const plan = schedule(snapshot, scheduler, now.getTime(), { carry: this.carry });
    const outcome = await applyPlan(this.ctx.db, plan, { pendingVersions: new Map([...pendingRows].map(([id, row]) => [id, row.version])), placedGenerations }, scheduler, now, (m) =>
      this.isNewProposal(m),
    );
    this.forgetProposals(plan);
    this.ctx.wakeups.wake(outcome.nodeIds.map(topics.node));
    const changedReasons = explanations(plan).filter((e) => !sameReasons(pendingRows.get(e.id)?.reasons, e.reasons));
    await setPendingReasons(this.ctx.db, changedReasons);
    this.ctx.metrics.placements.inc(outcome.admitted);
    const queueNames = new Map(snapshot.queues.map((q) => [q.id, q.name]));
    for (const a of outcome.firstAdmissions) this.ctx.metrics.queueWait.observe({ queue: queueNames.get(a.queueId) ?? a.queueId }, Math.max(0, a.waitedMs) / 1000);
    this.ctx.metrics.placementConflicts.inc(outcome.conflicts);
    for (const p of outcome.preempted) this.ctx.metrics.preemptions.inc({ kind: p.kind });
    this.ctx.metrics.movesProposed.inc(outcome.movesProposed);
    this.ctx.metrics.pending.set(plan.pending.length + outcome.conflicts);
    this.ctx.metrics.schedulingCycle.observe(Number(process.hrtime.bigint() - started) / 1e9);
    // A conflict means the world moved under the plan; plan again rather than wait for the timer.
    if (outcome.conflicts > 0) this.again = true;
    return { admitted: outcome.admitted, pending: plan.pending.length };
  }

  /** A proposed move is recorded once while the scheduler keeps proposing it, not every cycle. */
  private readonly proposed = new Set<string>();

  private isNewProposal(move: Move): boolean {
    const key = `${move.workloadId}>${move.forWorkloadId}`;
    if (this.proposed.has(key)) return false;
    this.proposed.add(key);
    return true;
  }

  private forgetProposals(plan: Plan): void {
    const current = new Set(plan.moves.map((m) => `${m.workloadId}>${m.forWorkloadId}`));
    for (const key of this.proposed) if (!current.has(key)) this.proposed.delete(key);
  }
}

/** Compared item by item: a cycle compares every waiting workload's reasons, and most are unchanged. */
function sameReasons(stored: readonly string[] | undefined, reasons: readonly string[]): boolean {
  const before = stored ?? [];
  return before.length === reasons.length && before.every((r, i) => r === reasons[i]);
}

/** The ranked reasons of each waiting workload; a backfill reservation is said last, with its time. */
function explanations(plan: Plan): Array<{ id: string; reasons: string[] }> {
  const reserved = new Map(plan.reservations.map((r) => [r.workloadId, r]));
  return plan.pending.map((e) => {
    const r = reserved.get(e.workloadId);
    const reasons = e.reasons.length > 0 ? [...e.reasons] : ['waiting'];
    if (r) reasons.push(`resources reserved: expected to start by ${new Date(r.at).toISOString()} on ${r.nodeIds.length === 1 ? 'node' : 'nodes'} ${r.nodeIds.join(', ')}`);
    return { id: e.workloadId, reasons };
  });
}
