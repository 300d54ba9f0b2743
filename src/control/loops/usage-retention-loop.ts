import { pruneGpuUsage } from '../../store/usage-repo.js';
import type { ControlContext } from '../context.js';
import { IntervalDuty } from './interval-duty.js';

/** How often the leader deletes usage windows older than the retention. */
const pruneEveryMs = 10 * 60_000;

/** Keeps the GPU usage windows for `usageRetentionMs` (the cost and waste reports reach no further back). */
export class UsageRetentionLoop {
  private readonly duty: IntervalDuty;

  constructor(private readonly ctx: ControlContext) {
    this.duty = new IntervalDuty(pruneEveryMs, () => this.prune(), (err) => ctx.logger.error({ err }, 'pruning GPU usage failed; retrying later'), true);
  }

  start(): void {
    this.duty.start();
  }

  stop(): Promise<void> {
    return this.duty.stop();
  }

  prune(): Promise<number> {
    return pruneGpuUsage(this.ctx.db, new Date(this.ctx.now().getTime() - this.ctx.config.usageRetentionMs));
  }
}
