import { quotaBlock, tryPlace } from './allocate.js';
import { consolidateFor } from './consolidate.js';
import { overdue, own, type Cycle, type PendingState } from './cycle.js';
import type { QueueState } from './queue-tree.js';
import { evict, explainNoVictims } from './preempt.js';
import { workloadAmounts } from './resources.js';
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
  const retried = new Set<PendingState>();
  let turn: readonly PendingState[] = cycle.order;
  while (turn.length > 0) {
    // Room made for one workload changes what an earlier one may take: a higher-priority workload
    // may have taken, within its queue, the place of one protected by age, say. Those that found
    // none before the last room was made take another turn, until a pass makes none after a miss.
    while (turn.length > 0) {
      const missed: PendingState[] = [];
      let again = 0;
      for (const p of turn) {
        const outcome = turns.take(p);
        if (outcome === 'spent') return;
        if (outcome === 'missed') missed.push(p);
        else if (outcome === 'made') again = missed.length;
      }
      turn = missed.slice(0, again);
    }
    // A workload that gave its place may still fit elsewhere, or make room of its own (say by
    // preempting lower-priority work placed after it); each gets one more turn. What it takes
    // there may put its queue over its share: those still without room take another turn then.
    let changed = false;
    for (let i = 0; i < cycle.withdrawn.length; i++) {
      const p = cycle.withdrawn[i]!;
      if (retried.has(p) || p.placed) continue;
      retried.add(p);
      const outcome = tryPlace(cycle, p) ? turns.placed() : turns.take(p);
      if (outcome === 'spent') return;
      if (outcome === 'made') changed = true;
    }
    turn = changed ? cycle.order.filter((p) => turns.missed(p)) : [];
  }
}

class Turns {
  private attempts = 0;
  /**
   * Until something is evicted, a workload of the same queue, shape and priority as one that found
   * no victims finds none either; why is kept, by queue, shape and priority, to be told to those too.
   */
  private readonly fruitless = new Map<QueueState, Map<number, string>[]>();
  /** Why a workload's last turn found no victims: a later turn says it anew. */
  private readonly said = new Map<PendingState, string>();

  constructor(private readonly cycle: Cycle) {}

  /** Whether `p`'s last turn found no room, and it has not been placed since. */
  missed(p: PendingState): boolean {
    return !p.placed && this.said.has(p);
  }

  /** A workload was placed outside a turn: its queue's use changed, and what was found fruitless may not be. */
  placed(): 'made' {
    this.fruitless.clear();
    return 'made';
  }

  /** Makes room for `p` if it may and can: whether it did, found none, had no need, or the cycle's attempts are spent. */
  take(p: PendingState): 'made' | 'missed' | 'none needed' | 'spent' {
    const queue = p.queue;
    const found = p.findings;
    if (p.placed || found.hopeless || (!found.roomBlocked && found.limit.length === 0) || found.waiting.length > 0 || !queue) return 'none needed';
    const before = this.said.get(p);
    if (before !== undefined) {
      const mine = own(p);
      mine.notes = mine.notes.filter((n) => n !== before);
      this.said.delete(p);
    }
    const told = this.fruitless.get(queue)?.[p.shape]?.get(p.priority);
    if (told !== undefined) {
      tell(p, told);
      this.said.set(p, told);
      return 'missed';
    }
    if (this.attempts++ >= ATTEMPTS_PER_CYCLE) return 'spent';
    const cycle = this.cycle;
    const limited = found.limit.length > 0 && heldBack(cycle, p, queue);
    if (found.limit.length > 0 && !limited) {
      // Work stopped since its turn in allocate took away what held it back (say, the use that
      // others' lending limits left no room for): it looks for room again, or the next cycle would
      // find it and reclaim what this one placed.
      own(p).limit = [];
      if (tryPlace(cycle, p)) return this.placed();
    }
    // Past its own limits only its own queue's lower-priority work can make way; reclaim never lifts a limit.
    const made =
      limited
        ? evict(cycle, p, 'preempt')
        : (overdue(cycle, p) && evict(cycle, p, 'overtake')) || consolidateFor(cycle, p) || evict(cycle, p, 'reclaim') || evict(cycle, p, 'preempt');
    if (made) {
      this.fruitless.clear();
      return 'made';
    }
    let byShape = this.fruitless.get(queue);
    if (!byShape) this.fruitless.set(queue, (byShape = []));
    const why = explainNoVictims(cycle, p, queue);
    byShape[p.shape] ??= new Map();
    byShape[p.shape]!.set(p.priority, why);
    this.said.set(p, why);
    return 'missed';
  }
}

/** Whether a limit along `p`'s queue's branch, or others' lending limits, keep it out on every GPU model it takes. */
function heldBack(cycle: Cycle, p: PendingState, queue: QueueState): boolean {
  return cycle.modelsFor(p.source).every((model) => quotaBlock(cycle, queue, workloadAmounts(p.source, model, cycle.memoryOf(model)), p) !== null);
}
