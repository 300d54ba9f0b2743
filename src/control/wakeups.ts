import { EventEmitter } from 'node:events';
import type { Store } from '../store/db.js';
import { outsideRequest } from '../observe/log-context.js';

/**
 * Wakes whoever waits on a topic: the scheduler (`schedule`), an agent's watch (`node:<id>`), a log
 * follower (`logs:<workloadId>`). In-process waiters are woken at once; other servers on the same
 * PostgreSQL hear it through NOTIFY.
 */
export class Wakeups {
  private readonly emitter = new EventEmitter();
  private readonly channel = 'gpufleet_wakeups';
  private unlisten: (() => Promise<void>) | undefined;

  constructor(private readonly store: Store) {
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    if (this.store.kind !== 'postgres') return;
    this.unlisten = await this.store.listen(this.channel, (payload) => {
      for (const topic of payload.split(',')) this.emitter.emit(topic);
    });
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
  }

  /** Call after the transaction that made the change has committed. */
  wake(topics: string[]): void {
    if (topics.length === 0) return;
    const unique = [...new Set(topics)];
    // A loop woken by a request runs on its own, and its log lines must not carry the request's ids.
    outsideRequest(() => {
      for (const topic of unique) this.emitter.emit(topic);
    });
    if (this.store.kind === 'postgres') void this.store.notify(this.channel, unique.join(',')).catch(() => undefined);
  }

  on(topic: string, fn: () => void): () => void {
    this.emitter.on(topic, fn);
    return () => this.emitter.off(topic, fn);
  }

  /** Resolves when `topic` is woken or after `ms`, whichever is first; `true` if woken. */
  waitFor(topic: string, ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        this.emitter.off(topic, onWake);
        signal?.removeEventListener('abort', onAbort);
        resolve(woken);
      };
      const onWake = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      this.emitter.on(topic, onWake);
      signal?.addEventListener('abort', onAbort);
    });
  }
}

export const topics = {
  schedule: 'schedule',
  node: (id: string) => `node:${id}`,
  logs: (workloadId: string) => `logs:${workloadId}`,
  workload: (id: string) => `workload:${id}`,
  /** A cluster was created or changed: the cluster loop syncs now. */
  clusters: 'clusters',
};
