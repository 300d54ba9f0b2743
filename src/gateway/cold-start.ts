import type { RoutingTable } from './routing-table.js';

/**
 * Requests held while a model's service has no ready replica (scaled to zero, or all restarting):
 * bounded per model, each with a timeout; released, in arrival order, as soon as a routing table
 * with a replica for the model arrives.
 */
export interface ColdStartOptions {
  /** Held requests per model; more are refused at once (default 256). */
  maxHeld: number;
  /** How long one request waits for a replica (default 60 s). */
  timeoutMs: number;
  /** A model got its first held request: the server should hear of it now. */
  onFirstHeld: (model: string) => void;
}

interface Waiter {
  resume: () => void;
  expire: () => void;
  timer: NodeJS.Timeout;
}

export type HoldOutcome = 'held' | 'full';

export class ColdStartHolds {
  private readonly byModel = new Map<string, Set<Waiter>>();

  constructor(private readonly options: ColdStartOptions) {}

  /**
   * Holds a request: `resume` runs when a replica is there, `expire` when the wait timed out.
   * Returns a cancel function for a caller that went away, or 'full'.
   */
  hold(model: string, resume: () => void, expire: () => void): (() => void) | 'full' {
    let waiters = this.byModel.get(model);
    if (waiters === undefined) this.byModel.set(model, (waiters = new Set()));
    if (waiters.size >= this.options.maxHeld) return 'full';
    const set = waiters;
    const waiter: Waiter = {
      resume,
      expire,
      timer: setTimeout(() => {
        set.delete(waiter);
        expire();
      }, this.options.timeoutMs),
    };
    set.add(waiter);
    if (set.size === 1) this.options.onFirstHeld(model);
    return () => {
      clearTimeout(waiter.timer);
      set.delete(waiter);
    };
  }

  /** Resumes the requests of every model that now has a replica. */
  release(table: RoutingTable): void {
    for (const [model, waiters] of this.byModel) {
      if (waiters.size === 0 || (table.lookup(model)?.all.length ?? 0) === 0) continue;
      const ready = [...waiters];
      waiters.clear();
      for (const w of ready) {
        clearTimeout(w.timer);
        w.resume();
      }
    }
  }

  /** Held requests per model. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [model, waiters] of this.byModel) if (waiters.size > 0) out.set(model, waiters.size);
    return out;
  }

  /** Fails every held request now (the gateway is closing). */
  expireAll(): void {
    for (const waiters of this.byModel.values()) {
      const all = [...waiters];
      waiters.clear();
      for (const w of all) {
        clearTimeout(w.timer);
        w.expire();
      }
    }
  }
}
