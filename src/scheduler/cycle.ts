import type { SchedulerCarry } from './carry.js';
import { FleetState, type NodeState } from './fleet.js';
import { bucketScorer, Placer, type PlacementScorer } from './placement.js';
import { QueueTree, type QueueState } from './queue-tree.js';
import { CPU, EPSILON, GPU, MEMORY, workloadAmounts, accepts, addAmounts, chargeAllocation, asksForGpus, gpuKey, gpuShare, type Amounts } from './resources.js';
import type { PendingWorkload, Plan, ReplicaAllocation, RunningWorkload, SchedulerConfig, Snapshot, WorkloadBase } from './types.js';
import { emptyPlan } from './types.js';
import { ShapeTable } from './shapes.js';
import { runningWorkload } from './workload-objects.js';

export interface RunningState {
  source: RunningWorkload;
  /** The node of each allocation, in order (null where the node is not in the snapshot): looked up once a cycle. */
  nodes: (NodeState | null)[];
  queue: QueueState | null;
  amounts: Amounts;
  endAt: number;
  /** May be stopped at all: preemptible, not already stopping, past the minimum runtime. */
  stoppable: boolean;
  /** Chosen this cycle as a victim or to move: not chosen again. */
  evicted: boolean;
  /**
   * Placed by this very cycle's allocate action: it has not started, so giving way costs nothing —
   * its placement is withdrawn instead of a preemption. This keeps plans stable: what a cycle
   * places is never what the next cycle has to reclaim.
   */
  tentative: PendingState | null;
  /** Its position in the snapshot's running work; −1 for a placement of this cycle. */
  order: number;
  /**
   * What admitting it reads of its source, kept here (`describe`): a cycle admits every running
   * workload, and one object read per workload instead of several is a large part of what a
   * carried cycle saves (carry.ts).
   */
  releasing: boolean;
  /** Preemptible and not releasing: stoppable once past the minimum runtime. */
  mayStop: boolean;
  startedAt: number;
  priority: number;
  /** The GPU models it holds, each once, in allocation order (a list shared by all that hold the same). */
  models: readonly string[];
  /** Its allocations on nodes in the snapshot when it has a time limit, else 0. */
  timedHolds: number;
  /** How its queue's demand counts it beyond what it holds (`demandAsPending`, `demandOnOtherModels`). */
  demand: 'held' | 'byMemory' | 'onOtherModels';
}

type ReasonKind = 'limit' | 'waiting' | 'room' | 'notes';

/**
 * What the cycle found about a pending workload, for its explanation. Workloads of one queue and
 * shape that allocate turned away for the same reasons share one (see verdicts.ts), so a findings
 * object and its lists are never changed in place once shared: `own` copies it first.
 */
export interface Findings {
  limit: string[];
  waiting: string[];
  room: string[];
  notes: string[];
  /** Did not fit for want of room (as opposed to a quota). */
  roomBlocked: boolean;
  /** Asks for more than any node has: nothing to reserve, reclaim or preempt for. */
  hopeless: boolean;
  /** Held by more than one workload (or by none yet): copied before any change. */
  shared: boolean;
  /** The explanation built from the lists, once for all who share them. */
  reasons: string[] | null;
  /** The same findings with one more note, by that note, for all who are told it. */
  told: Map<string, Findings> | null;
}

/** Whether `p` has waited past `overtakeAfterMs` and is overdue: it may take the place of younger work this cycle placed, and reserves first. */
export function overdue(cycle: Cycle, p: PendingState): boolean {
  const after = cycle.config.overtakeAfterMs;
  return after !== null && cycle.now - p.submittedAt >= after;
}

/** `p`'s findings, made its own to change. */
export function own(p: PendingState): Findings {
  if (p.findings.shared) p.findings = { ...p.findings, shared: false, reasons: null, told: null };
  return p.findings;
}

export function note(p: PendingState, kind: ReasonKind, reason: string): void {
  const found = own(p);
  found[kind] = [...found[kind], reason];
}

/** Quota kept for one backfill reservation (`Cycle.keepQuota`). */
interface KeptQuota {
  workloadId: string;
  amounts: Amounts;
  at: number;
}

/** One queue's running work as the cycle admitted it (`Cycle.admitted`). */
interface Admitted {
  /** What its running work charges the queue (one charge per queue, not per workload: each walks the queue's ancestors). */
  charge: Amounts | null;
  /** The entries of `stoppableByQueue` and `stoppableByModel`. */
  stoppable: RunningState[] | null;
  byModel: Map<string, RunningState[]> | null;
  /**
   * The lowest priority of its stoppable work this cycle (evicted or not): preemption within a
   * queue only takes lower-priority work, and in a queue of one priority a search would walk
   * every running workload to find none.
   */
  lowestStoppable: number;
}

/** A pending workload and what the cycle learned about it. */
export interface PendingState {
  source: PendingWorkload;
  /** The source's priority and submission time, kept here: ordering reads them for every workload, and this object is at hand. */
  priority: number;
  submittedAt: number;
  /** Whether it has a claim (`claimedAt`). */
  claimed: boolean;
  /** Its shape's number among all that the carry has seen (kept from cycle to cycle), or −1 without a carry. */
  kind: number;
  /** Its number in the cycle's shape table. */
  shape: number;
  queue: QueueState | null;
  placed: boolean;
  /**
   * What its queue is charged from the start of the cycle because work is being released for it
   * (it preempted in an earlier cycle): the quota is held like the room, until its turn comes.
   */
  nominated: Amounts | null;
  findings: Findings;
}

/**
 * One scheduling cycle's working state: the fleet and queue tree with everything running charged,
 * fair shares computed, and the plan being built. The actions (allocate, consolidate, reclaim,
 * preempt) each take a cycle and add to its plan.
 */
export class Cycle {
  readonly fleet: FleetState;
  readonly tree: QueueTree;
  readonly placer: Placer;
  readonly running: RunningState[];
  /** Running work told to stop, still holding what it holds. */
  readonly releasing: RunningState[] = [];
  /** Those that may be stopped at all, by queue. */
  readonly stoppableByQueue = new Map<QueueState, RunningState[]>();
  /** The same by queue and by a GPU model they hold: a victim search for one model walks only these. */
  readonly stoppableByModel = new Map<QueueState, Map<string, RunningState[]>>();
  /**
   * Per queue, what its running work charges and may give up, found with one lookup per workload
   * (a cycle admits every running workload, and a lookup per list was a tenth of a replay). Queues
   * come in the order running work first charged them, which the charges are applied in.
   */
  private readonly admitted = new Map<QueueState, Admitted>();
  /** Running workloads with an allocation on each node, by node ordinal, in snapshot order (a gang appears on each of its nodes). */
  private readonly holders: RunningState[][];
  readonly pending: PendingState[];
  /** The pending workloads of each queue, in snapshot order; allocate puts each list in turn. */
  readonly pendingByQueue = new Map<QueueState, PendingState[]>();
  /** Pending workloads whose queue is not in the snapshot. */
  readonly orphans: PendingState[] = [];
  /** Pending workloads with a claim (`claimedAt`), in snapshot order. */
  readonly claimants: PendingState[] = [];
  /** What the schedulable nodes hold, by resource. */
  readonly capacity: Readonly<Amounts>;
  readonly plan: Plan = emptyPlan();
  /** Pending workloads in the order the allocate action considered them. */
  readonly order: PendingState[] = [];
  /** Placements taken back for a more entitled workload: they try again, after the others. */
  readonly withdrawn: PendingState[] = [];
  readonly hasLending: boolean;
  private readonly modelLists = new Map<string, string[]>();
  /** What running work counts for in its queue's demand beyond what it holds (`demandAsPending`). */
  private readonly extraDemand = new Map<QueueState, Amounts>();
  /** GPU models some queue names a quota on: fair shares are computed for their keys. */
  private readonly sharedModels: string[];
  /** While the running work is admitted: its holds (workload and node) with a time limit. */
  private timeLimitedHolds = 0;
  /**
   * What each queue keeps under its limits (and its ancestors' limits) for the backfill
   * reservations of its workloads: a workload that would still run when one starts may not take
   * it, or the reserved workload could not start then and the next cycle, without its reservation,
   * would place what this one kept off its nodes.
   */
  private readonly keptQuota = new Map<QueueState, KeptQuota[]>();
  /** Running work kept from the last cycle that was past the minimum runtime then still is (`SchedulerCarry.agedSince`). */
  private aged = false;
  /** `wholeHeldOf`'s sums, by queue and model, once asked for. */
  private readonly wholeHeld = new Map<QueueState, Map<string, Float64Array>>();
  /** The last cycle's queues, by this cycle's (`queueAgain`). */
  private readonly queuesAgain = new Map<QueueState, QueueState | null>();
  /** Reasons already written for requests larger than any node's free block, by model and size. */
  readonly roomSaid = new Map<string, string[]>();

  constructor(
    snapshot: Snapshot,
    readonly config: SchedulerConfig,
    readonly now: number,
    scorer: PlacementScorer = bucketScorer,
    /** Numbers workloads by shape; one that never reuses a number turns sharing findings off (tests). */
    readonly shapes: ShapeTable = new ShapeTable(),
    /** The last cycle's fleet, reused when the nodes are the same (carry.ts). */
    carry: SchedulerCarry | null = null,
  ) {
    const reused = carry?.fleetFor(snapshot.nodes, config) ?? null;
    this.fleet = reused ?? new FleetState(snapshot.nodes, config);
    this.tree = new QueueTree(snapshot.queues);
    this.sharedModels = this.fleet.models.filter((m) => this.tree.keys.includes(gpuKey(m)));
    this.placer = new Placer(this.fleet, scorer, now);
    this.hasLending = snapshot.queues.some((q) => q.quotas.some((quota) => quota.lendingLimit !== null));

    if (reused) {
      this.aged = carry!.agedSince(now, config);
      ({ running: this.running, holders: this.holders } = carry!.admit(reused, snapshot.running, {
        endAt: (source) => this.endAtOf(source),
        create: (source) => this.stateOf(source, carry),
        renew: (state, source) => this.renew(state, source),
        holdsStill: (state) => this.holdsStill(state),
      }));
      reused.timeLimited = this.timeLimitedHolds;
    } else {
      this.holders = this.fleet.nodes.map(() => []);
      this.running = snapshot.running.map((source, order) => this.admitOnFresh(source, order));
    }
    this.fleet.index();
    carry?.begin(this.fleet, snapshot.nodes, config, now, this.running, this.holders);
    // Only running work was admitted so far, and each queue it reached was charged at once.
    for (const [queue, { charge }] of this.admitted) if (charge) this.tree.charge(queue, charge);
    // Where every pending workload starts: nothing found yet, shared until one is told something.
    const nothing: Findings = { limit: [], waiting: [], room: [], notes: [], roomBlocked: false, hopeless: false, shared: true, reasons: null, told: null };
    // Demand is counted by shape, then weighed once per shape; one lookup per workload finds both.
    const backlogs = new Map<QueueState, { pending: PendingState[]; byShape: number[] }>();
    this.pending = carry ? carry.pendingStates(snapshot.pending, (source, kind) => pendingState(source, kind, nothing)) : snapshot.pending.map((source) => pendingState(source, -1, nothing));
    // This cycle's number of each shape the carry numbered (`kind`): as a fresh table would number them, in snapshot order.
    const shapeOfKind: number[] = [];
    // The carry's shapes are unlike each other: an empty table need not compare them to number them.
    const numberOf = this.shapes.exemplars.length === 0 ? (w: PendingWorkload) => this.shapes.adopt(w) : (w: PendingWorkload) => this.shapes.idOf(w);
    for (const p of this.pending) {
      // A state kept from the last cycle starts this one as a new one would.
      p.placed = false;
      p.nominated = null;
      p.findings = nothing;
      p.queue = this.queueAgain(p.queue, p.source);
      p.shape = p.kind < 0 ? this.shapes.idOf(p.source) : (shapeOfKind[p.kind] ??= numberOf(carry!.exemplarOf(p.kind)));
      if (p.queue) {
        let backlog = backlogs.get(p.queue);
        if (!backlog) backlogs.set(p.queue, (backlog = { pending: [], byShape: [] }));
        backlog.byShape[p.shape] = (backlog.byShape[p.shape] ?? 0) + 1;
        backlog.pending.push(p);
        if (p.claimed) this.claimants.push(p);
      } else this.orphans.push(p);
    }
    for (const [queue, { pending, byShape }] of backlogs) {
      this.pendingByQueue.set(queue, pending);
      const amounts: Amounts = {};
      byShape.forEach((count, shape) => this.addDemandOf(amounts, this.shapes.exemplars[shape]!, count));
      this.tree.addDemand(queue, amounts);
    }
    for (const q of this.tree.queues.values()) addAmounts(q.demand, q.usage);
    for (const [queue, amounts] of this.extraDemand) this.tree.addDemand(queue, amounts);
    // After demand is counted: a claimant is demand as pending work, not once more for what it holds.
    this.holdClaims();

    this.capacity = this.fleet.capacity();
    this.tree.computeFairShares(this.capacity, config.usageWeight);
  }

  /** A running workload's state, its allocations taken on the fresh fleet and its holders noted. */
  private admitOnFresh(source: RunningWorkload, order: number): RunningState {
    const state = this.stateOf(source);
    state.order = order;
    const { nodes } = state;
    let last: NodeState | undefined;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (!node) continue;
      this.fleet.applyTo(node, source.allocations[i]!, 1, state.endAt);
      // A gang's replicas on one node make it one holder there.
      if (node !== last && !this.holders[node.ordinal]!.includes(state)) this.holders[node.ordinal]!.push(state);
      last = node;
    }
    return state;
  }

  /** The cycle's state of a running workload: its queue, nodes, charges, end and whether it may be stopped. */
  private stateOf(source: RunningWorkload, carry: SchedulerCarry | null = null): RunningState {
    let amounts: Amounts = {};
    for (const allocation of source.allocations) chargeAllocation(amounts, allocation);
    if (carry) amounts = carry.alike(amounts);
    const state = runningState(source, this.nodesOf(source.allocations), this.tree.queues.get(source.queueId) ?? null, amounts, this.endAtOf(source), null);
    this.countIn(state);
    return state;
  }

  /**
   * Makes the last cycle's state of a workload that holds the same (nodes, charges and end) this
   * cycle's. The same source object as the last cycle's is the same workload (a snapshot is not
   * changed once passed with a carry): what the state keeps of it holds, and the source is not read.
   */
  private renew(state: RunningState, source: RunningWorkload): void {
    if (source === state.source) state.queue = this.queueAgain(state.queue, source);
    else {
      state.source = source;
      state.queue = this.tree.queues.get(source.queueId) ?? null;
      state.stoppable = false;
      describe(state);
    }
    this.countIn(state);
  }

  /** Whether a state kept with its source still holds the same: releasing work holds until now, which moves. */
  private holdsStill(state: RunningState): boolean {
    return !state.releasing || state.endAt === this.now;
  }

  /** This cycle's queue of the last cycle's `queue` (the tree is built afresh each cycle), found once per queue. */
  private queueAgain(queue: QueueState | null, source: WorkloadBase): QueueState | null {
    if (queue === null) return this.tree.queues.get(source.queueId) ?? null;
    let again = this.queuesAgain.get(queue);
    if (again === undefined) this.queuesAgain.set(queue, (again = this.tree.queues.get(queue.id) ?? null));
    return again;
  }

  /**
   * Counts a running workload's state in: its queue's charge, the releasing work, the lists of what
   * may be stopped. Every running workload passes here once, in snapshot order, while its state is
   * at hand.
   */
  private countIn(state: RunningState): void {
    const { queue } = state;
    // Kept work found past the minimum runtime last cycle is not read again while it ages.
    state.stoppable = state.mayStop && ((state.stoppable && this.aged) || this.now - state.startedAt >= this.config.minRuntimeMs);
    state.evicted = false;
    // What is already being released no longer counts for its queue: it will not be reclaimed twice.
    if (state.releasing) {
      this.releasing.push(state);
      // Work stopped for another comes back as pending: its demand stays, or the fair shares
      // would move while it releases and another queue could reclaim what the last cycle placed.
      if (queue && state.source.releasingFor != null) this.addDemandOf(this.extraDemandOf(queue), state.source, 1);
    } else if (queue) {
      const admitted = this.admittedIn(queue);
      addAmounts((admitted.charge ??= {}), state.amounts);
      if (state.demand === 'byMemory') this.demandAsPending(queue, state.source, state.amounts);
      else if (state.demand === 'onOtherModels' && this.sharedModels.length > 0) this.demandOnOtherModels(queue, state.source, state.amounts);
      // Releasing work is never stoppable.
      if (state.stoppable) this.addStoppable(state, queue, admitted);
    }
    this.timeLimitedHolds += state.timedHolds;
  }

  /**
   * A workload's demand is the same whether it waits or runs. Waiting, a request by GPU memory is
   * demand for the share it would take on the smallest GPU it accepts, and one that accepts several
   * models is demand for each of them; running, it uses one share of one model. Counted by its use
   * once running, a workload placed on a larger GPU, or on one of its models, would move its
   * queue's demand, and so the fair shares, from one cycle to the next, and another queue could
   * reclaim what the last cycle placed with the share that moved.
   */
  private demandAsPending(queue: QueueState, source: RunningWorkload, used: Amounts): void {
    const extra = this.extraDemandOf(queue);
    this.addDemandOf(extra, source, 1);
    addAmounts(extra, used, -1);
  }

  /**
   * `demandAsPending` for whole GPUs and shares: on each model it accepts whose key fair shares are
   * computed for, what it does not hold there (a share, gpuFraction, is demand for that share of
   * each model, as it was while waiting).
   */
  private demandOnOtherModels(queue: QueueState, source: RunningWorkload, used: Amounts): void {
    const asked = gpuShare(source.request, 0) * source.replicas;
    let extra: Amounts | null = null;
    for (const model of this.sharedModels) {
      const key = gpuKey(model);
      const missing = asked - (used[key] ?? 0);
      if (missing <= EPSILON || !accepts(source, model)) continue;
      extra ??= this.extraDemandOf(queue);
      extra[key] = (extra[key] ?? 0) + missing;
    }
  }

  private extraDemandOf(queue: QueueState): Amounts {
    let extra = this.extraDemand.get(queue);
    if (!extra) this.extraDemand.set(queue, (extra = {}));
    return extra;
  }

  private endAtOf(source: RunningWorkload): number {
    return source.releasing ? this.now : source.timeLimitMs === null ? Infinity : source.startedAt + source.timeLimitMs;
  }

  private hold(state: RunningState): void {
    for (const node of state.nodes) if (node && !this.holders[node.ordinal]!.includes(state)) this.holders[node.ordinal]!.push(state);
  }

  private nodesOf(allocations: readonly ReplicaAllocation[]): (NodeState | null)[] {
    const nodes = new Array<NodeState | null>(allocations.length);
    for (let i = 0; i < allocations.length; i++) nodes[i] = this.fleet.byId.get(allocations[i]!.nodeId) ?? null;
    return nodes;
  }

  /**
   * A pending workload for which work is being stopped keeps what it was promised while the victims
   * release: its quota, and the nodes where it will start (`Placer.freeFor`), found as it would be
   * placed once they have gone. Those are where its victims are, or, when they were stopped to bring
   * its queue under a limit, wherever it fits; if it fits nowhere even then, its victims' nodes.
   */
  private holdClaims(): void {
    const victimsOf = new Map<string, RunningState[]>();
    for (const r of this.releasing) {
      const id = r.source.releasingFor;
      if (typeof id !== 'string') continue;
      const list = victimsOf.get(id);
      if (list) list.push(r);
      else victimsOf.set(id, [r]);
    }
    if (victimsOf.size === 0) return;
    for (const p of this.pending) {
      const victims = victimsOf.get(p.source.id);
      if (!p.queue || !victims) continue;
      const start = this.startsOn(p, victims);
      // Its queue is charged for the GPU model it will start on (a charge on another model could
      // hold back borrowing that model, the room of another claimant, say): else its victims'.
      const model = start?.model ?? victims[0]!.source.allocations.find((a) => a.gpuModel !== null)?.gpuModel ?? this.modelsFor(p.source)[0] ?? null;
      p.nominated = workloadAmounts(p.source, model, this.memoryOf(model));
      this.tree.hold(p.queue, p.nominated);
      const claimant = { id: p.source.id, name: p.source.name };
      for (const node of start?.nodes ?? victims.flatMap((v) => v.nodes)) if (node) this.placer.freeFor(node, claimant);
    }
  }

  /** Where `p` would start with `victims` gone (nodes and GPU model), or null if it fits nowhere even then. */
  private startsOn(p: PendingState, victims: RunningState[]): { nodes: (NodeState | null)[]; model: string | null } | null {
    for (const v of victims) this.occupy(v, -1);
    let start: { nodes: (NodeState | null)[]; model: string | null } | null = null;
    for (const model of this.modelsFor(p.source)) {
      const placed = this.placer.place(p.source, model);
      if (!Array.isArray(placed)) continue;
      start = { nodes: this.nodesOf(placed), model };
      this.placer.undo(placed, this.placer.endAt(p.source));
      break;
    }
    for (const v of victims) this.occupy(v, 1);
    return start;
  }

  /** Records a placement of this cycle as a holder of its nodes, so later actions see who holds what. */
  placed(p: PendingState, amounts: Amounts, allocations: ReplicaAllocation[], endAt: number): void {
    const source = runningWorkload(p.source, { startedAt: this.now, allocations, releasing: false, releasingFor: null });
    // A claimant's place was paid for by the work stopped for it: nothing takes it back this cycle.
    const stoppable = p.source.preemptible && p.source.claimedAt == null;
    const state = runningState(source, this.nodesOf(allocations), p.queue, amounts, endAt, p);
    state.stoppable = stoppable;
    this.hold(state);
    if (state.stoppable && p.queue) this.addStoppable(state, p.queue);
  }

  /** Keeps `amounts` of `p`'s queue's limits for its reservation, which starts at `at`; null gives back what it kept. */
  keepQuota(p: PendingState, amounts: Amounts | null, at: number): void {
    if (!p.queue) return;
    for (const q of p.queue.selfAndAncestors()) {
      const list = (this.keptQuota.get(q) ?? []).filter((k) => k.workloadId !== p.source.id);
      if (amounts) list.push({ workloadId: p.source.id, amounts, at });
      this.keptQuota.set(q, list);
    }
  }

  /** What each queue keeps under its limits for reservations of others that start before `p`, starting now, would end; null when none do. */
  reservedAgainst(p: PendingState): ((q: QueueState) => Amounts | null) | null {
    if (this.keptQuota.size === 0) return null;
    const endAt = this.placer.endAt(p.source);
    return (q) => {
      let sum: Amounts | null = null;
      for (const k of this.keptQuota.get(q) ?? []) {
        if (k.workloadId === p.source.id || k.at >= endAt) continue;
        addAmounts((sum ??= {}), k.amounts);
      }
      return sum;
    };
  }

  /**
   * Whether stopping every stoppable workload of the queues `mayTake` allows (evicted or not) could
   * leave some schedulable node with `need` whole GPUs of `model` free: a bound on what a victim
   * search, which takes only the eligible among them, can find. Most searches behind a backlog find
   * no node at all; this tells so from per-queue sums by node, without walking the work.
   */
  mightFree(model: string, need: number, mayTake: (q: QueueState) => boolean): boolean {
    const { nodes } = this.fleet;
    const sums = new Float64Array(nodes.length);
    let any = false;
    for (const [queue, byModel] of this.stoppableByModel) {
      if (!byModel.has(model) || !mayTake(queue)) continue;
      const held = this.wholeHeldOf(queue, model);
      for (let o = 0; o < held.length; o++) sums[o]! += held[o]!;
      any = true;
    }
    if (!any) return false;
    for (const node of nodes) {
      const held = sums[node.ordinal]!;
      if (held > 0 && node.schedulable && (node.freeWhole.get(model) ?? -Infinity) + held >= need) return true;
    }
    return false;
  }

  /** The whole GPUs of `model` that `queue`'s stoppable work holds on each node (by ordinal): worked out on first use, until work is added. */
  private wholeHeldOf(queue: QueueState, model: string): Float64Array {
    let byModel = this.wholeHeld.get(queue);
    if (!byModel) this.wholeHeld.set(queue, (byModel = new Map()));
    let held = byModel.get(model);
    if (!held) {
      byModel.set(model, (held = new Float64Array(this.fleet.nodes.length)));
      for (const r of this.stoppableByModel.get(queue)?.get(model) ?? []) addWholeHeld(r, model, held);
    }
    return held;
  }

  /** Whether `queue` has stoppable work of lower priority than `priority` (possibly evicted already). */
  stoppableBelow(queue: QueueState, priority: number): boolean {
    return (this.admitted.get(queue)?.lowestStoppable ?? Infinity) < priority;
  }

  private admittedIn(queue: QueueState): Admitted {
    let admitted = this.admitted.get(queue);
    if (!admitted) this.admitted.set(queue, (admitted = { charge: null, stoppable: null, byModel: null, lowestStoppable: Infinity }));
    return admitted;
  }

  private addStoppable(r: RunningState, queue: QueueState, admitted = this.admittedIn(queue)): void {
    admitted.lowestStoppable = Math.min(admitted.lowestStoppable, r.priority);
    if (!admitted.stoppable) this.stoppableByQueue.set(queue, (admitted.stoppable = []));
    admitted.stoppable.push(r);
    if (!admitted.byModel) this.stoppableByModel.set(queue, (admitted.byModel = new Map()));
    const byModel = admitted.byModel;
    for (const model of r.models) {
      const ofModel = byModel.get(model);
      if (!ofModel) byModel.set(model, [r]);
      else ofModel.push(r);
    }
    // Its queue's sums by node are worked out again when next asked for.
    if (this.wholeHeld.size > 0) this.wholeHeld.delete(queue);
  }

  /** What `count` pending workloads of this one's shape add to their queue's demand, on every model they accept. */
  private addDemandOf(into: Amounts, workload: WorkloadBase, count: number): void {
    const { request } = workload;
    const replicas = workload.replicas * count;
    if (asksForGpus(request)) {
      let share = request.gpus;
      const models = this.modelsFor(workload) as string[];
      for (const m of models) share = Math.max(share, Math.min(1, gpuShare(request, this.fleet.memoryOfModel.get(m) ?? 0)));
      into[GPU] = (into[GPU] ?? 0) + share * replicas;
      for (const m of models) into[gpuKey(m)] = (into[gpuKey(m)] ?? 0) + share * replicas;
    }
    if (request.cpus > 0) into[CPU] = (into[CPU] ?? 0) + request.cpus * replicas;
    if (request.memoryMiB > 0) into[MEMORY] = (into[MEMORY] ?? 0) + request.memoryMiB * replicas;
  }

  /** Models a workload may run on, in fleet order; [null] when it asks for no GPU. */
  modelsFor(workload: PendingWorkload): (string | null)[] {
    if (!asksForGpus(workload.request)) return NO_GPU;
    // Most workloads accept any model or one: the lists are shared, not rebuilt per workload.
    const wanted = workload.gpuModels;
    if (wanted === null) return this.fleet.models;
    const key = wanted.length === 1 ? wanted[0]! : wanted.join('\n');
    let models = this.modelLists.get(key);
    if (!models) this.modelLists.set(key, (models = this.fleet.models.filter((m) => accepts(workload, m))));
    return models;
  }

  memoryOf(model: string | null): number {
    return model === null ? 0 : (this.fleet.memoryOfModel.get(model) ?? 0);
  }

  holdersOn(node: NodeState): RunningState[] {
    return this.holders[node.ordinal]!;
  }

  /** Gives back, or takes again, what a running workload holds on the nodes (not its queue's usage). */
  occupy(r: RunningState, sign: 1 | -1): void {
    const { allocations } = r.source;
    for (let i = 0; i < allocations.length; i++) {
      const node = r.nodes[i];
      if (node) this.fleet.applyTo(node, allocations[i]!, sign, r.endAt);
    }
  }
}

const NO_GPU: (string | null)[] = [null];

/**
 * A new pending state, before the cycle takes it in (its queue and shape). `kind`: the number of
 * its shape among all the carry has seen, or −1 without a carry.
 */
function pendingState(source: PendingWorkload, kind: number, findings: Findings): PendingState {
  return {
    source,
    priority: source.priority,
    submittedAt: source.submittedAt,
    claimed: source.claimedAt != null,
    kind,
    shape: -1,
    queue: null,
    placed: false,
    nominated: null,
    findings,
  };
}

/** A new running state, not stoppable until counted in (`Cycle.countIn`). */
function runningState(source: RunningWorkload, nodes: (NodeState | null)[], queue: QueueState | null, amounts: Amounts, endAt: number, tentative: PendingState | null): RunningState {
  // Fields in the order they are laid out: what admitting a kept state reads each cycle comes
  // first, on as few cache lines as may be (most of a carried cycle's admission is waiting on
  // them). What `describe` fills in starts as the kind it will be (a number field first written
  // with an integer is widened later, at a cost).
  const state: RunningState = {
    source,
    order: -1,
    releasing: false,
    queue,
    stoppable: false,
    mayStop: false,
    amounts,
    evicted: false,
    priority: 0,
    models: NO_MODELS,
    timedHolds: 0,
    demand: 'held',
    nodes,
    endAt,
    tentative,
    startedAt: NaN,
  };
  describe(state);
  return state;
}

const NO_MODELS: readonly string[] = [];

/** Sets what a state keeps of its source (`RunningState.releasing` to `demand`) from the source, its nodes and its end. */
function describe(state: RunningState): void {
  const { source } = state;
  state.releasing = source.releasing;
  state.mayStop = !source.releasing && source.preemptible;
  state.startedAt = source.startedAt;
  state.priority = source.priority;
  state.models = modelsHeld(source.allocations);
  let holds = 0;
  if (Number.isFinite(state.endAt)) for (const node of state.nodes) if (node) holds += 1;
  state.timedHolds = holds;
  state.demand = source.request.gpuMemoryMiB !== null ? 'byMemory' : source.gpuModels?.length !== 1 && asksForGpus(source.request) ? 'onOtherModels' : 'held';
}

/**
 * Lists of GPU models held, one per distinct list: every running workload keeps one, and most
 * hold one model, so thousands of workloads share a few lists that stay at hand. A cache of
 * immutable values, however many cycles read it.
 */
const heldLists = new Map<string, readonly string[]>();

/** The GPU models of `allocations`, each once, in order (a gang's replicas share one model: the workload is listed once under it). */
function modelsHeld(allocations: readonly ReplicaAllocation[]): readonly string[] {
  let first: string | null = null;
  let several = false;
  for (const a of allocations) {
    if (a.gpuModel === null) continue;
    first ??= a.gpuModel;
    several ||= a.gpuModel !== first;
  }
  if (first === null) return NO_MODELS;
  // Keyed by the model itself when it is the only one (no string built per workload), else by the list joined.
  const models = several ? [...new Set(allocations.flatMap((a) => (a.gpuModel === null ? [] : [a.gpuModel])))] : null;
  const key = models ? models.join('\n') : first;
  let list = heldLists.get(key);
  if (!list) heldLists.set(key, (list = models ?? [first]));
  return list;
}

/** Adds the whole GPUs of `model` that `r` holds to each node's sum in `into` (by ordinal). */
function addWholeHeld(r: RunningState, model: string, into: Float64Array): void {
  for (let i = 0; i < r.nodes.length; i++) {
    const node = r.nodes[i];
    if (node) into[node.ordinal]! += wholeHeldAt(r, i, model);
  }
}

/** The whole GPUs of `model` that `r`'s `i`-th allocation holds (a share counts none). */
export function wholeHeldAt(r: RunningState, i: number, model: string): number {
  const a = r.source.allocations[i]!;
  return a.gpuModel === model && a.gpuFraction === null ? a.gpuIndices.length : 0;
}

/** Not yet chosen this cycle, and among the workloads that may be stopped at all. */
export function movable(r: RunningState): boolean {
  return r.stoppable && !r.evicted;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
