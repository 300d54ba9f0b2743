import { dropReservation, reserve } from './backfill.js';
import { cmp, note, overdue, own, type Cycle, type Findings, type PendingState, type RunningState } from './cycle.js';
import type { NodeState } from './fleet.js';
import type { ReleasedRoom } from './placement.js';
import { adopt, share } from './verdicts.js';
import { describeRoomFailure } from './explain.js';
import type { QueueState } from './queue-tree.js';
import { EPSILON, GPU, formatAmount, workloadAmounts, type Amounts } from './resources.js';
import type { PendingWorkload, ReplicaAllocation } from './types.js';

/**
 * The first action: start what fits now, queue by queue in fair-share order (a queue below its fair
 * share first, then by priority, then by dominant share), each queue's workloads by priority and
 * age. A workload that cannot start does not hold back smaller ones, except through a backfill
 * reservation: the first blocked workloads reserve the nodes where they can start earliest, and
 * later workloads may use those nodes only if they do not delay them. Overdue workloads reserve
 * before the walk (`reserveOverdue`).
 */
export function allocate(cycle: Cycle): void {
  for (const p of cycle.orphans) note(p, 'limit', `its queue ${p.source.queueId} no longer exists`);
  const byQueue = new Map<QueueState, PendingState[]>();
  const heads = new Map<QueueState, number>();
  for (const [queue, list] of cycle.pendingByQueue) {
    byQueue.set(queue, inTurn(list));
    heads.set(queue, 0);
  }
  placeClaimants(cycle, byQueue);
  const failed = new Map<string, RoomFailure>();
  const order = new QueueOrder(cycle);
  // Those that tried before the walk do not try again in it, nor share their shape's findings.
  const triedEarly = reserveOverdue(cycle, byQueue);
  let reservationTries = triedEarly.size;
  const missed = new Set<number>();
  const verdicts = new Map<QueueState, Findings[]>();
  while (heads.size > 0) {
    // Only a placement or a hold on released room changes the queues' order; after a miss the same queue goes on.
    const queue = order.pick([...heads.keys()]);
    const list = byQueue.get(queue)!;
    let at = heads.get(queue)!;
    let known = verdicts.get(queue);
    while (at < list.length) {
      const p = list[at++]!;
      cycle.order.push(p);
      if (p.nominated) {
        cycle.tree.hold(queue, p.nominated, -1);
        p.nominated = null;
        // Its queue's usage went down: what was refused for a limit may be allowed now. And room
        // being released is held for it: its own turn is not its shape's.
        verdicts.clear();
        known = undefined;
      }
      const verdict = triedEarly.has(p) ? undefined : known?.[p.shape];
      if (verdict) {
        adopt(p, verdict);
        continue;
      }
      if (tryPlace(cycle, p, triedEarly.has(p) ? undefined : failed)) {
        order.refresh(queue);
        break;
      }
      // Holding released room charges the queue as a placement does: the turn passes on the same
      // terms, or who holds that room would depend on whether the queue's placements came first.
      if (p.findings.roomBlocked && awaitReleasing(cycle, p, missed)) {
        order.refresh(queue);
        break;
      }
      if (triedEarly.has(p)) continue;
      // Tries, not successes, are counted: with no time limits in the fleet every try fails, and each walks the fleet.
      if (p.findings.roomBlocked && !p.findings.hopeless && reservationTries < cycle.config.reservations) {
        reservationTries++;
        // Room refused from now on may be refused for this reservation, which explanations name.
        if (reserve(cycle, p)) {
          failed.clear();
          verdicts.clear();
          known = undefined;
        }
      } else if (cycle.shapes.sharesFindings) {
        if (!known) verdicts.set(queue, (known = []));
        known[p.shape] = share(p);
      }
    }
    if (at < list.length) heads.set(queue, at);
    else heads.delete(queue);
  }
}

/**
 * Workloads that work was stopped for, once that work has gone, go first, oldest claim first: the
 * room it freed was made for them. In fair-share order a workload before them could take it, and
 * they would stop more work elsewhere (perhaps what the last plan placed). Those still waiting for
 * their victims are held room for (`Cycle.holdClaims`) and take their turn in the walk. Each is
 * taken out of its queue's list; one that does not fit still gets its turn to make room.
 */
function placeClaimants(cycle: Cycle, byQueue: Map<QueueState, PendingState[]>): void {
  const claimants = cycle.claimants.filter((p) => p.nominated === null).sort((a, b) => a.source.claimedAt! - b.source.claimedAt! || byAge(a, b));
  if (claimants.length === 0) return;
  const first = new Set(claimants);
  for (const queue of new Set(claimants.map((p) => p.queue!))) byQueue.set(queue, byQueue.get(queue)!.filter((p) => !first.has(p)));
  for (const p of claimants) {
    cycle.order.push(p);
    tryPlace(cycle, p);
  }
}

/**
 * Overdue workloads (waited `overtakeAfterMs`) take the first backfill reservations, one per queue
 * first (`reservingOrder`), before the walk in fair-share order: otherwise younger work of queues
 * below their share, blocked earlier in the walk, takes every reservation, and the nodes it holds
 * are the ones an overdue workload needs (overtaking only takes the place of what this cycle
 * placed). Only the overdue head of each queue's turn counts, so none goes ahead of work its own
 * queue takes before it. One that can start now reserves room at once, which holds it until its
 * turn. Returns those that tried.
 */
function reserveOverdue(cycle: Cycle, byQueue: Map<QueueState, PendingState[]>): Set<PendingState> {
  const tried = new Set<PendingState>();
  const most = cycle.config.reservations;
  // Without time limits no reservation can have a start time, and one that fits now is served by overtaking.
  if (cycle.config.overtakeAfterMs === null || most === 0 || cycle.fleet.timeLimited === 0) return tried;
  const due: PendingState[] = [];
  for (const list of byQueue.values()) for (let i = 0; i < list.length && i < most && overdue(cycle, list[i]!); i++) due.push(list[i]!);
  for (const p of reservingOrder(due).slice(0, most)) {
    if (p.nominated || !mayReserve(cycle, p)) continue;
    tried.add(p);
    reserve(cycle, p);
  }
  return tried;
}

/**
 * The oldest overdue multi-GPU workload of each queue first (oldest first), then the oldest of each
 * multi-GPU size not among them, then the rest by age: no queue holds a second reservation while
 * another with overdue multi-GPU work holds none. By age alone the whole-node work, which waits
 * longest in a busy fleet, took every reservation, and the nodes it holds are the ones that come to
 * have room for half-node work first (in the Philly replay a virtual cluster's 4-GPU jobs waited
 * 49 h at p99 against FIFO's 32 h); by size and then age, the heaviest queues' older whole-node
 * work took the rest, and a lighter queue's whole-node jobs waited longer than under FIFO. A 1-GPU
 * workload gets no place ahead: any GPU that frees serves it, and what it would hold is the room
 * others need.
 */
function reservingOrder(due: PendingState[]): PendingState[] {
  const multi = due.sort(byAge).filter((p) => gpusOf(p) > 1);
  const first = new Set<PendingState>();
  const queues = new Set<QueueState | null>();
  for (const p of multi) {
    if (queues.has(p.queue)) continue;
    queues.add(p.queue);
    first.add(p);
  }
  const sizes = new Set([...first].map(gpusOf));
  for (const p of multi) {
    if (sizes.has(gpusOf(p))) continue;
    sizes.add(gpusOf(p));
    first.add(p);
  }
  return [...first, ...due.filter((p) => !first.has(p))];
}

function gpusOf(p: PendingState): number {
  return p.source.request.gpus * p.source.replicas;
}

/** Whether a reservation could serve `p`: whole GPUs within one node's size and its queue's limits, for some model. */
function mayReserve(cycle: Cycle, p: PendingState): boolean {
  const { request } = p.source;
  return cycle.modelsFor(p.source).some(
    (model) =>
      model !== null &&
      request.gpus <= (cycle.fleet.largestNode.get(model) ?? 0) &&
      quotaBlock(cycle, p.queue!, workloadAmounts(p.source, model, cycle.memoryOf(model))) === null,
  );
}

/**
 * A queue's workloads in turn: by priority, then age, then id. A backlog has few priorities and
 * arrives in age order, so bucketing by priority first leaves sorts of runs that are mostly sorted
 * already, which take about linear time.
 */
function inTurn(list: PendingState[]): PendingState[] {
  // The store lists the backlog in turn already; a backlog that is not stops this check early.
  if (list.every((p, i) => i === 0 || beforeInTurn(list[i - 1]!, p))) return list;
  const byPriority = new Map<number, PendingState[]>();
  for (const p of list) {
    let bucket = byPriority.get(p.priority);
    if (!bucket) byPriority.set(p.priority, (bucket = []));
    bucket.push(p);
  }
  if (byPriority.size === 1) return list.sort(byAge);
  const out: PendingState[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => b - a))
    for (const p of byPriority.get(priority)!.sort(byAge)) out.push(p);
  return out;
}

function beforeInTurn(a: PendingState, b: PendingState): boolean {
  return a.priority > b.priority || (a.priority === b.priority && byAge(a, b) < 0);
}

function byAge(a: PendingState, b: PendingState): number {
  return a.submittedAt - b.submittedAt || cmp(a.source.id, b.source.id);
}

/**
 * A workload that would fit once the work already told to stop has gone is pipelined (KAI's word):
 * the room is held for it for the rest of the cycle, so nothing behind it takes what it waits for,
 * and its queue is charged. `missed` remembers shapes that would not fit even then.
 */
function awaitReleasing(cycle: Cycle, p: PendingState, missed: Set<number>): boolean {
  // What is released for another workload is held for that one.
  const releasing = cycle.releasing.filter((r) => !r.evicted && (r.source.releasingFor ?? p.source.id) === p.source.id);
  if (releasing.length === 0) return false;
  const shape = p.shape;
  const claimed = releasing.some((r) => r.source.releasingFor === p.source.id);
  if (!claimed && missed.has(shape)) return false;
  for (const r of releasing) cycle.occupy(r, -1);
  let held: Amounts | null = null;
  // Room freed by its own preemptions is its own, whatever backfill reservations say.
  cycle.placer.honourReservations = !claimed;
  if (!claimed) cycle.placer.releasedRoom = releasedRoom(releasing);
  for (const model of cycle.modelsFor(p.source)) {
    const amounts = workloadAmounts(p.source, model, cycle.memoryOf(model));
    if (quotaBlock(cycle, p.queue!, amounts, p) !== null) continue;
    if (Array.isArray(cycle.placer.place(p.source, model))) {
      held = amounts;
      break;
    }
  }
  cycle.placer.honourReservations = true;
  cycle.placer.releasedRoom = null;
  for (const r of releasing) cycle.occupy(r, 1);
  if (!held) {
    if (!claimed) missed.add(shape);
    return false;
  }
  cycle.tree.hold(p.queue!, held);
  note(p, 'waiting', `waiting for ${releasing.length} stopping workload(s) to release what it needs`);
  return true;
}

/** What `releasing` holds, by node. */
function releasedRoom(releasing: RunningState[]): Map<NodeState, ReleasedRoom> {
  const room = new Map<NodeState, ReleasedRoom>();
  for (const r of releasing) {
    r.source.allocations.forEach((a, k) => {
      const node = r.nodes[k];
      if (!node) return;
      let held = room.get(node);
      if (!held) room.set(node, (held = { gpus: new Map(), cpus: 0, memoryMiB: 0 }));
      for (const i of a.gpuIndices) held.gpus.set(i, (held.gpus.get(i) ?? 0) + (a.gpuFraction ?? 1));
      held.cpus += a.cpus;
      held.memoryMiB += a.memoryMiB;
    });
  }
  return room;
}

/** Why a shape found no room, kept for the others of its shape in the same allocate action. */
interface RoomFailure {
  room: string;
  notes: string[];
}

/** Places `p` now if its queue's limits and the fleet allow; records why not otherwise. */
export function tryPlace(cycle: Cycle, p: PendingState, failed?: Map<string, RoomFailure>): boolean {
  const queue = p.queue!;
  // The scorer may prefer one model over another for this request (fragmentation placement does).
  const models = cycle.placer.modelsInOrder(p.source, cycle.modelsFor(p.source));
  if (models.length === 0) {
    own(p).roomBlocked = true;
    note(p, 'room', `no ready node has GPUs of model ${p.source.gpuModels!.join(' or ')}`);
    return false;
  }
  let hopeless = 0;
  for (const model of models) {
    const amounts = workloadAmounts(p.source, model, cycle.memoryOf(model));
    const blocked = quotaBlock(cycle, queue, amounts, p);
    if (blocked) {
      note(p, 'limit', blocked);
      continue;
    }
    // A replica bigger than any node can never start as asked: say so, and do not reserve or preempt for it.
    const { request } = p.source;
    if (model !== null && request.gpuFraction === null && request.gpuMemoryMiB === null && request.gpus > (cycle.fleet.largestNode.get(model) ?? 0)) {
      note(p, 'room', `no ready node has ${request.gpus} ${model} GPUs at all (the largest has ${cycle.fleet.largestNode.get(model) ?? 0}); it cannot start as asked`);
      hopeless++;
      continue;
    }
    // Most of a large backlog asks for more whole GPUs than any node has free: say so without a search.
    if (failed && outgrows(cycle, p, model)) {
      own(p).roomBlocked = true;
      note(p, 'room', tooBig(cycle, cycle.roomSaid, model!, p.source.request.gpus));
      continue;
    }
    // Within one allocate action the fleet only fills up: a shape that found no room will not find it later.
    const shape = failed ? `${model}|${p.shape}` : '';
    let found = failed?.get(shape);
    if (found === undefined) {
      const placed = cycle.placer.place(p.source, model);
      if (Array.isArray(placed)) {
        commit(cycle, p, amounts, placed);
        return true;
      }
      const notes: string[] = [];
      if (placed.freeingFor) notes.push(`room is being freed for ${placed.freeingFor}, which work was stopped for`);
      if (placed.reservation)
        notes.push(
          `behind the backfill reservation of ${placed.reservation.workloadName}, which starts at ${new Date(placed.reservation.at).toISOString()}; a time limit that ends before then would let it start now`,
        );
      found = { room: describeRoomFailure(cycle, p.source, model, placed), notes };
      failed?.set(shape, found);
    }
    own(p).roomBlocked = true;
    note(p, 'room', found.room);
    for (const n of found.notes) note(p, 'notes', n);
  }
  own(p).hopeless = hopeless === models.length;
  return false;
}

export function commit(cycle: Cycle, p: PendingState, amounts: Amounts, allocations: ReplicaAllocation[]): void {
  cycle.tree.charge(p.queue!, amounts);
  cycle.plan.placements.push({ workloadId: p.source.id, allocations });
  cycle.placed(p, amounts, allocations, cycle.placer.endAt(p.source));
  p.placed = true;
  if (cycle.plan.reservations.length > 0) dropReservation(cycle, p);
}

function outgrows(cycle: Cycle, p: PendingState, model: string | null): boolean {
  const { request, replicas } = p.source;
  return model !== null && replicas === 1 && request.gpuFraction === null && request.gpuMemoryMiB === null && cycle.fleet.largestFree(model) < request.gpus;
}

/** The reason for a request larger than any node's free block, built once per model and size. */
function tooBig(cycle: Cycle, said: Map<string, string[]>, model: string, gpus: number): string {
  let bySize = said.get(model);
  if (!bySize) said.set(model, (bySize = []));
  const largest = cycle.fleet.largestFree(model);
  // Keyed by the largest free block too, which shrinks as the cycle places work.
  return (bySize[gpus * 1024 + largest] ??= `no node has ${gpus} free ${model} GPUs (most free on one node: ${largest})`);
}

/**
 * Borrowing beyond its guarantee must leave what other queues keep from lending (their lending
 * limits) free for them, even while they are idle.
 */
/**
 * Why `queue` may not take `amounts` now: a limit along the tree, or other queues' lending limits;
 * null if it may. For workload `p`, starting now, what backfill reservations of others keep under
 * the limits counts as used (`Cycle.reservedAgainst`).
 */
export function quotaBlock(cycle: Cycle, queue: QueueState, amounts: Amounts, p: PendingState | null = null): string | null {
  return cycle.tree.limitBlock(queue, amounts, p && cycle.reservedAgainst(p)) ?? lendingBlock(cycle, queue, amounts);
}

function lendingBlock(cycle: Cycle, queue: QueueState, amounts: Amounts): string | null {
  if (!cycle.hasLending) return null;
  for (const key in amounts) {
    const add = amounts[key]!;
    if ((queue.usage[key] ?? 0) + add <= queue.guaranteed(key) + EPSILON) continue;
    const mine = new Set(queue.selfAndAncestors());
    let held = 0;
    for (const q of cycle.tree.queues.values()) if (!mine.has(q)) held += Math.max(0, q.kept(key) - (q.usage[key] ?? 0));
    if (held <= EPSILON) continue;
    const used = cycle.tree.roots.reduce((sum, r) => sum + (r.usage[key] ?? 0), 0);
    if (used + add + held > (cycle.capacity[key] ?? 0) + EPSILON)
      return `borrowing is held back: other queues keep ${formatAmount(key, held)} of their idle guaranteed quota (lending limits)`;
  }
  return null;
}

/**
 * The queue to serve next: walking down from the roots, at each level the child below its fair
 * share first, then the higher priority, then the smaller dominant share. Each queue's own rank is
 * cached and refreshed along the path of a queue that was charged.
 */
class QueueOrder {
  private readonly ranks = new Map<QueueState, [number, number, number]>();
  private readonly paths = new Map<QueueState, QueueState[]>();

  constructor(private readonly cycle: Cycle) {
    for (const q of cycle.tree.queues.values()) this.rankOf(q);
  }

  refresh(queue: QueueState): void {
    for (const q of queue.selfAndAncestors()) this.rankOf(q);
  }

  pick(candidates: QueueState[]): QueueState {
    let best = candidates[0]!;
    for (let i = 1; i < candidates.length; i++) if (this.before(candidates[i]!, best)) best = candidates[i]!;
    return best;
  }

  private rankOf(q: QueueState): void {
    this.ranks.set(q, [(q.usage[GPU] ?? 0) < (q.deserved[GPU] ?? 0) - EPSILON ? 0 : 1, -q.source.priority, q.share(this.cycle.tree.keys)]);
  }

  private path(q: QueueState): QueueState[] {
    let path = this.paths.get(q);
    if (!path) this.paths.set(q, (path = [...q.selfAndAncestors()].reverse()));
    return path;
  }

  private before(a: QueueState, b: QueueState): boolean {
    const pa = this.path(a);
    const pb = this.path(b);
    for (let level = 0; level < Math.min(pa.length, pb.length); level++) {
      if (pa[level] === pb[level]) continue;
      const ra = this.ranks.get(pa[level]!)!;
      const rb = this.ranks.get(pb[level]!)!;
      for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return ra[i]! < rb[i]!;
      return pa[level]!.name < pb[level]!.name;
    }
    return pa.length < pb.length;
  }
}
