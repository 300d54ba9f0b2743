import type { HeldLock } from '../../store/db.js';
import type { ControlContext } from '../context.js';

// Same key in every server sharing a database; any fixed number works.
const LEADER_LOCK_KEY = 7_340_003;

export interface LeaderDuties {
  start(): void;
  stop(): Promise<void>;
}

/**
 * Several servers may share one PostgreSQL; one of them, the holder of an advisory lock, runs the
 * scheduler and the node-health loop. The others serve the API and take over within
 * `leaderRetryMs` of the leader's connection dropping (a killed leader's session ends with it).
 */
export class Leadership {
  private lock: HeldLock | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private attempt: Promise<void> | undefined;

  constructor(
    private readonly ctx: ControlContext,
    private readonly duties: LeaderDuties[],
  ) {}

  get isLeader(): boolean {
    return this.lock !== null;
  }

  async start(): Promise<void> {
    await this.tryLead();
    this.timer = setInterval(() => void this.tryLead(), this.ctx.config.leaderRetryMs);
  }

  private tryLead(): Promise<void> {
    if (this.lock || this.stopped) return Promise.resolve();
    this.attempt ??= this.acquire().finally(() => (this.attempt = undefined));
    return this.attempt;
  }

  private async acquire(): Promise<void> {
    let lock: HeldLock | null;
    try {
      lock = await this.ctx.store.tryLock(LEADER_LOCK_KEY);
    } catch (err) {
      this.ctx.logger.warn({ err }, 'cannot reach the database to take the scheduler lead');
      return;
    }
    if (!lock) return;
    if (this.stopped) {
      await lock.release();
      return;
    }
    this.lock = lock;
    this.ctx.metrics.leader.set(1);
    this.ctx.logger.info('this server leads: it runs the scheduler and the node-health loop');
    for (const d of this.duties) d.start();
    void lock.lost.then(async () => {
      if (this.lock !== lock || this.stopped) return;
      this.ctx.logger.warn('lost the scheduler lead (database connection dropped); will try to take it again');
      this.lock = null;
      this.ctx.metrics.leader.set(0);
      for (const d of this.duties) await d.stop();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.attempt;
    const lock = this.lock;
    this.lock = null;
    if (lock) {
      for (const d of this.duties) await d.stop();
      await lock.release();
    }
  }
}
