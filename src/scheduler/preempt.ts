import { cmp, movable, note, overdue, own, wholeHeldAt, type Cycle, type PendingState, type RunningState } from './cycle.js';
import type { NodeState } from './fleet.js';
import { dropsBelow, type QueueState } from './queue-tree.js';
import { GPU, gpuKey, isFractional, workloadAmounts, type Amounts } from './resources.js';
import { commit, quotaBlock } from './allocate.js';
import { dropReservation } from './backfill.js';
import { MinHeap } from './min-heap.js';
import type { PreemptionKind, ReplicaAllocation, WorkloadBase } from './types.js';
import type { PlaceFailure } from './placement.js';

/** `overtake`: an overdue workload takes the place of younger work placed this cycle (`overtakeable`). */
type EvictionKind = Exclude<PreemptionKind, 'consolidate'> | 'overtake';

export function evict(cycle: Cycle, p: PendingState, kind: EvictionKind): boolean {
  const queue = p.queue!;
  // Without lower-priority work in its queue a preemption finds nothing: no need to walk the queue's work to see so.
  const searches = kind !== 'preempt' || cycle.stoppableBelow(queue, p.priority);
  for (const model of searches ? cycle.modelsFor(p.source) : []) {
    if (model === null || isFractional(p.source.request)) continue;
    const amounts = workloadAmounts(p.source, model, cycle.memoryOf(model));
    // A queue that would pass its fair share reclaims from none (`theirSide`: its own queue is on its
    // side of every branch). Most reclaims behind a backlog end here, without a search.
    if (kind === 'reclaim' && !queue.withinShareAfter(amounts, cycle.tree.keys)) continue;
    const eligibility = kind === 'reclaim' ? reclaimable(cycle, p, queue, amounts, model) : kind === 'overtake' ? overtakeable(p) : preemptible(cycle, p, queue);
    const forLimit = kind === 'preempt' ? freeUnderLimit(cycle, p, queue, amounts, eligibility) : [];
    if (!forLimit) continue;
    const room = chooseVictims(cycle, p, model, eligibility);
    if (!room) {
      restore(cycle, forLimit);
      continue;
    }
    const victims = [...forLimit, ...room.victims];
    // With the victims gone the workload must be within its quotas too, or stopping them is in vain.
    if (victims.length === 0 || quotaBlock(cycle, queue, amounts, p) !== null) {
      cycle.placer.undo(room.allocations, cycle.placer.endAt(p.source));
      restore(cycle, victims);
      continue;
    }
    own(p).limit = [];
    const stopping = victims.filter((v) => v.tentative === null);
    dropReservation(cycle, p);
    for (const v of victims) if (v.tentative) withdraw(cycle, v.tentative, p, kind);
    // Only withdrawn placements made way: the room is free now, so the workload starts in this plan
    // (an overtaking workload takes nothing else).
    if (stopping.length === 0 || kind === 'overtake') {
      commit(cycle, p, amounts, room.allocations);
      return true;
    }
    for (const v of stopping) {
      cycle.plan.preemptions.push({
        workloadId: v.source.id,
        kind,
        forWorkloadId: p.source.id,
        reason:
          kind === 'reclaim'
            ? `reclaimed for ${p.source.name}: queue ${queue.name} is within its fair share and ${v.queue!.name} is over its own`
            : `preempted for ${p.source.name}, of higher priority (${p.source.priority} > ${v.source.priority}) in queue ${queue.name}`,
      });
      // They hold their GPUs until their processes end, but no longer count for their queue.
      cycle.occupy(v, 1);
    }
    // The preemptor's queue is charged now, and its room held, so nothing later in this cycle takes either.
    cycle.tree.hold(queue, amounts);
    note(p, 'waiting', `waiting for ${stopping.length} workload(s) ${kind === 'reclaim' ? 'reclaimed' : 'preempted'} for it to stop`);
    return true;
  }
  if (kind === 'preempt') note(p, 'notes', explainNoVictims(cycle, p, queue));
  return false;
}

/**
 * Victims from other queues: preemptible, past the minimum runtime, from a queue that was over its
 * fair share when this reclaim began and stays at or above its guaranteed quota without them (a
 * queue is never reclaimed into its guarantee, so what runs inside the guarantee is never taken).
 * Judging "over its share" once per reclaim lets a gang that needs whole nodes take a little more
 * than the surplus where free GPUs are scattered; the node search still prefers queues that are
 * over their share at the time. A placement this cycle made for an overdue workload older than `p`
 * is not withdrawn, and work that started overdue and is older than `p` is not reclaimed: age
 * overrides fair-share order (it would take the place back by overtaking).
 */
function reclaimable(cycle: Cycle, p: PendingState, queue: QueueState, amounts: Amounts, model: string): Eligibility {
  const keys = [GPU, gpuKey(model)].filter((k) => cycle.tree.keys.includes(k));
  const sidesOf = new Map<QueueState, TheirSide | null>();
  return {
    queue(q) {
      return theirSide(cycle, queue, q, amounts, keys, sidesOf) !== null;
    },
    workload(r) {
      const side = theirSide(cycle, queue, r.queue!, amounts, keys, sidesOf)!;
      // Running work only from a branch over its share all the way down. A placement of this cycle,
      // which has not started, also from a queue within its share whose parent this cycle took over
      // its own: otherwise that placement keeps what was just freed for the reclaimer, which then
      // stops running work elsewhere.
      return movable(r) && eligibleTentative(cycle, p, r, side) && side.queues.every((q) => !q.dropsBelowGuarantee(r.amounts));
    },
    workloadsOf(q) {
      const side = theirSide(cycle, queue, q, amounts, keys, sidesOf)!;
      const floors = side.queues.map((t) => t.guaranteeFloors(cycle.tree.keys));
      return (r) => movable(r) && eligibleTentative(cycle, p, r, side) && floors.every((f) => !dropsBelow(f, r.amounts));
    },
  };
}

/** The victims' side of `reclaimer`'s reclaim from `q`, or null when it may take nothing there; worked out once per queue. */
function theirSide(cycle: Cycle, reclaimer: QueueState, q: QueueState, amounts: Amounts, keys: string[], known: Map<QueueState, TheirSide | null>): TheirSide | null {
  let side = known.get(q);
  if (side === undefined) {
    const sides = branches(reclaimer, q);
    // Below their lowest common ancestor, the reclaimer's side must stay within its share and the victim's be over it.
    // A queue and its own ancestors or descendants share one budget: reclaim only moves work between branches.
    const mayTake = sides.mine.length > 0 && sides.theirs.length > 0 && sides.mine.every((m) => m.withinShareAfter(amounts, cycle.tree.keys));
    const over = sides.theirs.filter((t) => keys.some((k) => t.overShare(k))).length;
    known.set(q, (side = mayTake && over > 0 ? { queues: sides.theirs, allOver: over === sides.theirs.length } : null));
  }
  return side;
}

function eligibleTentative(cycle: Cycle, p: PendingState, r: RunningState, side: TheirSide): boolean {
  return (r.tentative !== null || side.allOver) && !wonByAge(cycle, p, r);
}

/**
 * Whether `r` holds its place by age against `p`: it was submitted before `p` and was overdue when
 * placed (this cycle, or when it started). Age took that place over fair-share order and over
 * younger work; neither reclaim nor in-queue preemption by younger work takes it back, or the
 * three rules go round (p0 placed, older overdue p2 takes its place, p1 of higher priority in p2's
 * queue takes p2's, p0 reclaims p1's, and so on, cycle after cycle when there is no minimum runtime).
 */
function wonByAge(cycle: Cycle, p: PendingState, r: RunningState): boolean {
  const after = cycle.config.overtakeAfterMs;
  if (after === null) return false;
  if (r.tentative !== null) return before(r.tentative.source, p.source) && overdue(cycle, r.tentative);
  return before(r.source, p.source) && r.source.startedAt - r.source.submittedAt >= after;
}

/** Submitted before: by time, then by id, as workloads are taken in turn (a tie would let each take the other's place). */
function before(a: WorkloadBase, b: WorkloadBase): boolean {
  return a.submittedAt < b.submittedAt || (a.submittedAt === b.submittedAt && cmp(a.id, b.id) < 0);
}

/** The victim's side of a reclaim below the common ancestor, and whether every queue of it is over its share. */
interface TheirSide {
  queues: QueueState[];
  allOver: boolean;
}

/**
 * Placements this cycle made for workloads of no higher priority submitted after `p`, of any
 * queue: they have not started, so giving way loses nothing, and the younger workload waits for
 * the next room. Age overrides fair-share order, not priority.
 */
function overtakeable(p: PendingState): Eligibility {
  return {
    queue() {
      return true;
    },
    workload(r) {
      return movable(r) && r.tentative !== null && r.tentative.submittedAt > p.submittedAt && r.tentative.priority <= p.priority;
    },
  };
}

/** Victims from the same queue with strictly lower priority, but not what an older workload won by age. */
function preemptible(cycle: Cycle, p: PendingState, queue: QueueState): Eligibility {
  return {
    queue(q) {
      return q === queue;
    },
    workload(r) {
      return r.priority < p.priority && movable(r) && !wonByAge(cycle, p, r);
    },
  };
}

/**
 * Which running workloads an eviction may take: queues are checked first, so most are never looked at.
 * Made as methods, not arrow-function properties: under tsx (the benches and tests) each named
 * closure made per call is renamed by Object.defineProperty, which cost 7 % of a Philly replay.
 */
interface Eligibility {
  queue(q: QueueState): boolean;
  /** Only asked of workloads whose queue passed. */
  workload(r: RunningState): boolean;
  /**
   * `workload` for the workloads of one queue that passed, judged together while nothing is charged
   * or evicted (a search's first walk over the lists): what does not change between them is worked
   * out once. Without it, `workload`.
   */
  workloadsOf?(q: QueueState): (r: RunningState) => boolean;
}

function eligibleOf(e: Eligibility): (r: RunningState) => boolean {
  return (r) => r.queue !== null && e.queue(r.queue) && e.workload(r);
}


/** The queues from each side up to (not including) their lowest common ancestor. */
function branches(a: QueueState, b: QueueState): { mine: QueueState[]; theirs: QueueState[] } {
  const ofB = new Set(b.selfAndAncestors());
  const mine: QueueState[] = [];
  let common: QueueState | null = null;
  for (const q of a.selfAndAncestors()) {
    if (ofB.has(q)) {
      common = q;
      break;
    }
    mine.push(q);
  }
  const theirs: QueueState[] = [];
  for (const q of b.selfAndAncestors()) {
    if (q === common) break;
    theirs.push(q);
  }
  return { mine, theirs };
}

/**
 * Frees room replica by replica: where a replica fits on free GPUs it takes them, else the node
 * whose eligible victims free enough with the fewest and cheapest victims gives them up. All
 * replicas must fit (and a topology requirement hold) or nothing is chosen. Returns the victims,
 * evicted from their queues and still off the nodes, or null with the cycle as it was.
 */
interface Room {
  victims: RunningState[];
  /** Where the workload will run once they are gone: held in the fleet for the rest of the cycle. */
  allocations: ReplicaAllocation[];
}

function chooseVictims(cycle: Cycle, p: PendingState, model: string, eligibility: Eligibility): Room | null {
  const required = p.source.topology.required;
  if (required === null) return chooseVictimsWithin(cycle, p, model, eligibility, null);
  // A gang that must share one label value frees room inside one value at a time.
  const need = p.source.request.gpus * p.source.replicas;
  for (const domain of cycle.fleet.domains(required).values()) {
    if (domain.reduce((sum, n) => sum + (n.byModel.get(model)?.length ?? 0), 0) < need) continue;
    const victims = chooseVictimsWithin(cycle, p, model, eligibility, domain);
    if (victims) return victims;
  }
  return null;
}

/** Whether victim searches first ask `Cycle.mightFree` (tests turn it off to show it changes no plan). */
export const victimBounds = { on: true };

/**
 * Frees room replica by replica on `domain` (or anywhere): where a replica fits on free GPUs it
 * takes them, else the best node offer gives up its victims. All replicas must fit or nothing is
 * chosen. Returns the victims, evicted from their queues and still off the nodes, and the
 * workload's own allocations, taken; or null with the cycle as it was.
 */
function chooseVictimsWithin(cycle: Cycle, p: PendingState, model: string, eligibility: Eligibility, domain: NodeState[] | null): Room | null {
  const eligible = eligibleOf(eligibility);
  const single = { ...p.source, replicas: 1, topology: { required: null, preferred: null } };
  const endAt = cycle.placer.endAt(p.source);
  const inDomain = domain === null ? null : new Set(domain);
  const taken: ReplicaAllocation[] = [];
  const victims: RunningState[] = [];
  const need = p.source.request.gpus;
  // No node has the room free, nor could have it with all the stoppable work of the queues it may
  // take from gone: the search would find no node to free (most of those behind a backlog).
  if (domain === null && victimBounds.on && cycle.fleet.largestFree(model) < need && !cycle.mightFree(model, need, (q) => eligibility.queue(q))) return null;
  // Only nodes holding an eligible workload can give anything up, and only where its whole GPUs and the
  // free ones reach what a replica needs: most nodes do not, and are not priced (`NodeOffers.price` would refuse them).
  const held = new Map<NodeState, number>();
  // Those found eligible in this walk, before anything is evicted: the first pricing of the nodes need not judge them again.
  const passed = new Set<RunningState>();
  for (const [queue, byModel] of cycle.stoppableByModel) {
    const list = byModel.get(model);
    if (!list || !eligibility.queue(queue)) continue;
    const passes = eligibility.workloadsOf?.(queue) ?? eligibility.workload;
    for (const r of list) {
      if (!passes(r)) continue;
      passed.add(r);
      addHeldOn(r, model, inDomain, held);
    }
  }
  const nodes: NodeState[] = [];
  for (const [node, gpus] of held) if (gpus > 0 && node.schedulable && (node.freeWhole.get(model) ?? -Infinity) + gpus >= need) nodes.push(node);
  const offers = new NodeOffers(cycle, nodes, need, model, eligible, passed);
  for (let r = 0; r < p.source.replicas; r++) {
    let placed = placeReplica(cycle, single, model, domain);
    while (!Array.isArray(placed)) {
      const best = offers.next();
      if (!best) {
        cycle.placer.undo(taken, endAt);
        restore(cycle, victims);
        return null;
      }
      for (const v of best.victims) {
        evictOne(cycle, v);
        victims.push(v);
      }
      placed = placeReplica(cycle, single, model, domain);
    }
    taken.push(...placed);
  }
  return { victims, allocations: taken };
}

function placeReplica(cycle: Cycle, single: WorkloadBase, model: string, domain: NodeState[] | null): ReplicaAllocation[] | PlaceFailure {
  return domain === null ? cycle.placer.place(single, model) : cycle.placer.placeOn(single, model, domain);
}

/** Adds the whole GPUs of `model` that `r` holds to each node's count in `into` (a node where it holds only shares, with none). */
function addHeldOn(r: RunningState, model: string, inDomain: ReadonlySet<NodeState> | null, into: Map<NodeState, number>): void {
  for (let i = 0; i < r.nodes.length; i++) {
    const node = r.nodes[i];
    if (node && r.source.allocations[i]!.gpuModel === model && (inDomain === null || inDomain.has(node))) into.set(node, (into.get(node) ?? 0) + wholeHeldAt(r, i, model));
  }
}

/**
 * For a workload its own queue's limit holds back: its lowest-priority, newest eligible workloads
 * are evicted until the limit lets it in. Null, with nothing evicted, when they are not enough.
 */
function freeUnderLimit(cycle: Cycle, p: PendingState, queue: QueueState, amounts: Amounts, eligibility: Eligibility): RunningState[] | null {
  if (quotaBlock(cycle, queue, amounts, p) === null) return [];
  const candidates = (cycle.stoppableByQueue.get(queue) ?? [])
    .filter((r) => eligibility.workload(r))
    .sort((a, b) => a.priority - b.priority || b.startedAt - a.startedAt || cmp(a.source.id, b.source.id));
  const victims: RunningState[] = [];
  for (const v of candidates) {
    evictOne(cycle, v);
    victims.push(v);
    if (quotaBlock(cycle, queue, amounts, p) === null) return victims;
  }
  restore(cycle, victims);
  return null;
}

/** Takes back a placement this cycle made, for `p`; its resources are already given back by the eviction. */
function withdraw(cycle: Cycle, withdrawn: PendingState, p: PendingState, kind: EvictionKind): void {
  // A plain loop: a cycle that places thousands withdraws hundreds of them.
  const { placements } = cycle.plan;
  const id = withdrawn.source.id;
  for (let i = 0; i < placements.length; i++) {
    if (placements[i]!.workloadId !== id) continue;
    placements.splice(i, 1);
    break;
  }
  withdrawn.placed = false;
  cycle.withdrawn.push(withdrawn);
  const why = kind === 'overtake' ? 'has waited longer' : kind === 'preempt' ? 'has a higher priority' : "is within its queue's fair share";
  note(withdrawn, 'notes', `gave its place to ${p.source.name}, which ${why}`);
}

function evictOne(cycle: Cycle, v: RunningState): void {
  v.evicted = true;
  cycle.occupy(v, -1);
  if (v.queue) cycle.tree.charge(v.queue, v.amounts, -1);
}

function restore(cycle: Cycle, victims: RunningState[]): void {
  for (const v of victims) {
    v.evicted = false;
    cycle.occupy(v, 1);
    if (v.queue) cycle.tree.charge(v.queue, v.amounts, 1);
  }
}

interface NodeOffer {
  node: NodeState;
  victims: RunningState[];
  /** Running victims, victims from queues no longer over their share, the work they lose, victims, their summed priority, the GPUs they hold in all: lower is better. */
  score: number[];
}

/**
 * Nodes by what stopping their eligible workloads would cost to free `need` whole GPUs of
 * `model`: the least work lost, then the fewest victims, the lowest priorities, the fewest GPUs
 * stopped. A stopped workload starts again from the beginning (or a checkpoint the scheduler does
 * not know of), so what it loses is its GPUs times how long it has run: stopping the youngest
 * work, not the largest, keeps a reclaim from throwing away days of a long job. Offers only
 * get worse as victims are taken (queues fall to their fair share, free GPUs are used), so a node
 * is re-priced when it comes out on top and put back if it no longer is.
 */
class NodeOffers {
  private readonly heap = new MinHeap<NodeOffer>((a, b) => lexLess(a.score, b.score));

  constructor(
    private readonly cycle: Cycle,
    nodes: Iterable<NodeState>,
    private readonly need: number,
    private readonly model: string,
    private readonly eligible: (r: RunningState) => boolean,
    /** Those `eligible` passes while nothing is evicted: what the first pricing of each node reads. */
    passed: ReadonlySet<RunningState>,
  ) {
    for (const node of nodes) {
      const offer = this.price(node, passed);
      if (offer) this.heap.push(offer);
    }
  }

  next(): NodeOffer | null {
    for (let top = this.heap.pop(); top; top = this.heap.pop()) {
      const fresh = this.price(top.node);
      if (!fresh) continue;
      const runnerUp = this.heap.peek();
      if (!runnerUp || !lexLess(runnerUp.score, fresh.score)) return fresh;
      this.heap.push(fresh);
    }
    return null;
  }

  private price(node: NodeState, passed: ReadonlySet<RunningState> | null = null): NodeOffer | null {
    const { cycle, need, model } = this;
    if (!node.schedulable) return null;
    const free = node.freeWhole.get(model);
    if (free === undefined) return null;
    const candidates: { r: RunningState; gpus: number }[] = [];
    let reachable = free;
    for (const r of cycle.holdersOn(node)) {
      // What passed is cheaper to tell than GPUs; GPUs are cheaper than eligibility (most holders of a node hold another model or a share).
      if (passed && !passed.has(r)) continue;
      const gpus = wholeGpusOn(r, node, model);
      if (gpus === 0 || (!passed && !this.eligible(r))) continue;
      candidates.push({ r, gpus });
      reachable += gpus;
    }
    if (reachable < need || candidates.length === 0) return null;
    // The youngest first (the least work lost per GPU freed), then the largest (the fewest victims).
    if (candidates.length > 1)
      candidates.sort((a, b) => a.r.priority - b.r.priority || ageOf(a.r, cycle.now) - ageOf(b.r, cycle.now) || b.gpus - a.gpus);
    const chosen: typeof candidates = [];
    let freed = free;
    // Each victim is judged with those chosen before it gone: together they must leave their queues their guarantees.
    // They are taken off their queues only when a later candidate is judged; most nodes need one victim.
    const tree = cycle.tree;
    let uncharged = 0;
    for (const c of candidates) {
      if (freed >= need) break;
      if (chosen.length > 0) {
        for (; uncharged < chosen.length; uncharged++) {
          const v = chosen[uncharged]!.r;
          if (v.queue) tree.charge(v.queue, v.amounts, -1);
        }
        if (!this.eligible(c.r)) continue;
      }
      chosen.push(c);
      freed += c.gpus;
    }
    for (let i = 0; i < uncharged; i++) {
      const v = chosen[i]!.r;
      if (v.queue) tree.charge(v.queue, v.amounts, 1);
    }
    if (freed < need) return null;
    // Drop any victim the others make unnecessary, the most expensive first.
    for (let i = chosen.length - 1; i >= 0; i--) {
      if (freed - chosen[i]!.gpus >= need) {
        freed -= chosen[i]!.gpus;
        chosen.splice(i, 1);
      }
    }
    // Withdrawing a placement of this cycle costs nothing; stopping running work costs its progress.
    let started = 0;
    let within = 0;
    let lost = 0;
    let priorities = 0;
    let gpus = 0;
    for (const { r } of chosen) {
      const held = r.amounts[GPU] ?? 0;
      if (r.tentative === null) started++;
      if (!r.queue || !cycle.tree.keys.some((k) => r.queue!.overShare(k))) within++;
      lost += held * ageOf(r, cycle.now);
      priorities += r.priority;
      gpus += held;
    }
    const score = [started, within, lost, chosen.length, priorities, gpus];
    return { node, victims: chosen.map((c) => c.r), score };
  }
}

/** How long a victim has run: what each of its GPUs loses when stopped. A placement of this cycle has not started and loses nothing. */
function ageOf(r: RunningState, now: number): number {
  return r.tentative === null ? Math.max(0, now - r.startedAt) : 0;
}

function wholeGpusOn(r: RunningState, node: NodeState, model: string): number {
  let gpus = 0;
  for (let i = 0; i < r.nodes.length; i++) if (r.nodes[i] === node) gpus += wholeHeldAt(r, i, model);
  return gpus;
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

export function explainNoVictims(cycle: Cycle, p: PendingState, queue: QueueState): string {
  if (cycle.config.overtakeAfterMs !== null && cycle.stoppableBelow(queue, p.priority)) {
    const kept = cycle.stoppableByQueue.get(queue)?.find((r) => r.priority < p.priority && movable(r) && wonByAge(cycle, p, r));
    if (kept) return `lower-priority work of queue ${queue.name} (${kept.source.name}) waited past the overtaking bound before it started and was submitted earlier: age keeps its place from younger work`;
  }
  const amounts = workloadAmounts(p.source, cycle.modelsFor(p.source)[0] ?? null, 0);
  if (!queue.withinShareAfter(amounts, cycle.tree.keys))
    return `queue ${queue.name} would pass its fair share (${Math.round((queue.deserved[GPU] ?? 0) * 100) / 100} GPUs), so it may not reclaim; it runs when GPUs free up`;
  return 'no running workload may be reclaimed or preempted for it (non-preemptible, within guarantee, too recently started, or in a place an older workload won by waiting past the overtaking bound)';
}
