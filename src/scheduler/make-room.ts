import { tryPlace } from './allocate.js';
import { consolidateFor } from './consolidate.js';
import { overdue, type Cycle, type PendingState } from './cycle.js';
import type { QueueState } from './queue-tree.js';
import { evict, explainNoVictims } from './preempt.js';
import { tell } from './verdicts.js';

/** Each attempt walks the nodes of a model; bounding them bounds a cycle behind a huge backlog. */
const ATTEMPTS_PER_CYCLE = 64;

/**
 * After allocate, for each workload it could not start (and that is not already waiting for
 * work being released), in the order it considered them, least disruptive first: take the place
 * of younger work this cycle placed (only once it has waited `overtakeAfterMs`), consolidate (move
 * small work to free whole nodes), reclaim from queues over their fair share (only for a queue
 * that stays within its own), or preempt lower-priority work of the same queue. Taking workloads
 * one at a time in order means a higher-priority workload's room is settled before a lower one's.
 */
export function makeRoom(cycle: Cycle): void {
  const turns = new Turns(cycle);
  for (const p of cycle.order) if (!turns.take(p)) return;
  // A workload that gave its place may still fit elsewhere, or make room of its own (say by
  // preempting lower-priority work placed after it); each gets one more turn.
  const retried = new Set<PendingState>();
  for (let i = 0; i < cycle.withdrawn.length; i++) {
    const p = cycle.withdrawn[i]!;
    if (retried.has(p) || p.placed) continue;
    retried.add(p);
    if (!tryPlace(cycle, p) && !turns.take(p)) return;
  }
}

class Turns {
  private attempts = 0;
  /**
   * Until something is evicted, a workload of the same queue, shape and priority as one that found
   * no victims finds none either; why is kept, by queue, shape and priority, to be told to those too.
   */
  private readonly fruitless = new Map<QueueState, Map<number, string>[]>();

  constructor(private readonly cycle: Cycle) {}

  /** Makes room for `p` if it may and can; false once the cycle's attempts are spent. */
  take(p: PendingState): boolean {
    const queue = p.queue;
    const found = p.findings;
    if (p.placed || found.hopeless || (!found.roomBlocked && found.limit.length === 0) || found.waiting.length > 0 || !queue) return true;
    const told = this.fruitless.get(queue)?.[p.shape]?.get(p.priority);
    if (told !== undefined) {
      tell(p, told);
      return true;
    }
    if (this.attempts++ >= ATTEMPTS_PER_CYCLE) return false;
    const cycle = this.cycle;
    // Past its own limits only its own queue's lower-priority work can make way; reclaim never lifts a limit.
    const made =
      found.limit.length > 0
        ? evict(cycle, p, 'preempt')
        : (overdue(cycle, p) && evict(cycle, p, 'overtake')) || consolidateFor(cycle, p) || evict(cycle, p, 'reclaim') || evict(cycle, p, 'preempt');
    if (made) {
      this.fruitless.clear();
      return true;
    }
    let byShape = this.fruitless.get(queue);
    if (!byShape) this.fruitless.set(queue, (byShape = []));
    (byShape[p.shape] ??= new Map()).set(p.priority, explainNoVictims(cycle, p, queue));
    return true;
  }
}
