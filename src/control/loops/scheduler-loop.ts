import { scheduleFifo } from '../../scheduler/fifo.js';
import { updateWorkloadAt } from '../../store/workloads-repo.js';
import type { ControlContext } from '../context.js';
import { topics } from '../wakeups.js';
import { readSnapshot } from './snapshot.js';
import { applyPlan } from './plan-applier.js';

/**
 * Runs scheduling cycles: at once when woken (a submit, a finished replica, a new node), and on a
 * short timer as a safety net. Cycles never overlap; a wake during a cycle queues exactly one more.
 */
export class SchedulerLoop {
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: ControlContext) {}

  start(): void {
    this.unsubscribe = this.ctx.wakeups.on(topics.schedule, () => this.trigger());
    this.timer = setInterval(() => this.trigger(), this.ctx.config.schedulerIntervalMs);
    this.trigger();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.idle;
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = this.loop();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.cycle();
      } catch (err) {
        this.ctx.logger.error({ err }, 'scheduling cycle failed; retrying on the next tick');
      }
    } while (this.again && !this.stopped);
    this.running = false;
  }

  /** One cycle: snapshot → pure plan → validated commit → explanations for what still waits. */
  async cycle(): Promise<{ admitted: number; pending: number }> {
    const started = process.hrtime.bigint();
    const { snapshot, pendingRows } = await readSnapshot(this.ctx.db);
    if (snapshot.pending.length === 0) {
      this.ctx.metrics.pending.set(0);
      return { admitted: 0, pending: 0 };
    }
    const now = this.ctx.now();
    const plan = scheduleFifo(snapshot, now.getTime());
    const versions = new Map([...pendingRows].map(([id, row]) => [id, row.version]));
    const outcome = await applyPlan(this.ctx.db, plan, versions, now);
    this.ctx.wakeups.wake(outcome.nodeIds.map(topics.node));
    for (const explanation of plan.pending) {
      const row = pendingRows.get(explanation.workloadId);
      const reason = explanation.reasons.join('; ') || 'waiting';
      if (row && row.reason !== reason) await updateWorkloadAt(this.ctx.db, row.id, row.version, { reason });
    }
    this.ctx.metrics.placements.inc(outcome.admitted);
    this.ctx.metrics.placementConflicts.inc(outcome.conflicts);
    this.ctx.metrics.pending.set(plan.pending.length + outcome.conflicts);
    this.ctx.metrics.schedulingCycle.observe(Number(process.hrtime.bigint() - started) / 1e9);
    // A conflict means the world moved under the plan; plan again rather than wait for the timer.
    if (outcome.conflicts > 0) this.again = true;
    return { admitted: outcome.admitted, pending: plan.pending.length };
  }
}
