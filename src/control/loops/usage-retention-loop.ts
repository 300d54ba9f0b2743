import { pruneGpuUsage } from '../../store/usage-repo.js';
import type { ControlContext } from '../context.js';

/** How often the leader deletes usage windows older than the retention. */
const pruneEveryMs = 10 * 60_000;

/** Keeps the GPU usage windows for `usageRetentionMs` (the cost and waste reports reach no further back). */
export class UsageRetentionLoop {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;

  constructor(private readonly ctx: ControlContext) {}

  start(): void {
    const run = () => {
      if (this.busy) return;
      this.busy = this.prune()
        .then(() => undefined)
        .catch((err: unknown) => this.ctx.logger.error({ err }, 'pruning GPU usage failed; retrying later'))
        .finally(() => (this.busy = undefined));
    };
    run();
    this.timer = setInterval(run, pruneEveryMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
  }

  prune(): Promise<number> {
    return pruneGpuUsage(this.ctx.db, new Date(this.ctx.now().getTime() - this.ctx.config.usageRetentionMs));
  }
}
