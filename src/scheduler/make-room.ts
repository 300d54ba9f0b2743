import { tryPlace } from './allocate.js';
import { consolidateFor } from './consolidate.js';
import { note, type Cycle, type PendingState } from './cycle.js';
import { evict, explainNoVictims } from './preempt.js';

/** Each attempt walks the nodes of a model; bounding them bounds a cycle behind a huge backlog. */
const ATTEMPTS_PER_CYCLE = 64;

/**
 * After allocate, for each workload it could not start (and that is not already waiting for
 * work being released), in the order it considered them, least disruptive first: consolidate (move
 * small work to free whole nodes), reclaim from queues over their fair share (only for a queue
 * that stays within its own), or preempt lower-priority work of the same queue. Taking workloads
 * one at a time in order means a higher-priority workload's room is settled before a lower one's.
 */
export function makeRoom(cycle: Cycle): void {
  let attempts = 0;
  // Until something is evicted, a workload of the same queue and shape as one that found no victims finds none either:
  // the explanation is kept to be told to those too.
  const fruitless = new Map<string, string>();
  const retried = new Set<PendingState>();
  const next = function* () {
    yield* cycle.order;
    // A workload that gave its place may still fit elsewhere, or make room of its own (say by
    // preempting lower-priority work placed after it); each gets one more turn.
    for (let i = 0; i < cycle.withdrawn.length; i++) {
      const p = cycle.withdrawn[i]!;
      if (retried.has(p) || p.placed) continue;
      retried.add(p);
      if (!tryPlace(cycle, p)) yield p;
    }
  };
  for (const p of next()) {
    if (p.placed || p.hopeless || (!p.roomBlocked && p.limit.length === 0) || p.waiting.length > 0 || !p.queue) continue;
    const shape = `${p.queue.id}|${p.source.priority}|${p.shape}`;
    const told = fruitless.get(shape);
    if (told !== undefined) {
      note(p, 'notes', told);
      continue;
    }
    if (attempts++ >= ATTEMPTS_PER_CYCLE) break;
    // Past its own limits only its own queue's lower-priority work can make way; reclaim never lifts a limit.
    const made =
      p.limit.length > 0
        ? evict(cycle, p, 'preempt')
        : consolidateFor(cycle, p) || evict(cycle, p, 'reclaim') || evict(cycle, p, 'preempt');
    if (made) fruitless.clear();
    else fruitless.set(shape, explainNoVictims(cycle, p, p.queue));
  }
}
