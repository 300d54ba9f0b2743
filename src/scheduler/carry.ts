import type { FleetState, NodeState } from './fleet.js';
import { FragmentationScorer, scorerFor } from './fragmentation-scorer.js';
import type { PlacementScorer } from './placement.js';
import { Recall } from './recall.js';
import { ShapeTable } from './shapes.js';
import type { Amounts } from './resources.js';
import type { PendingWorkload, ReplicaAllocation, RunningWorkload, SchedulerConfig, Snapshot, SnapshotNode } from './types.js';

/** What the carry reads and keeps of a running workload as a cycle admitted it (the cycle's `RunningState`). */
export interface Holder {
  source: Pick<RunningWorkload, 'id' | 'allocations'>;
  /** The node of each allocation (null: not in the snapshot). */
  nodes: readonly (NodeState | null)[];
  endAt: number;
  /** Placed by the cycle itself, not admitted as running. */
  tentative: object | null;
  /** Its position in this cycle's list of running work (−1: placed by the cycle): holders are kept in that order. */
  order: number;
}

/** How a cycle admits running work: what the carry cannot know of it. */
export interface Admission<H extends Holder> {
  /** When the workload's hold ends, as the cycle counts it (releasing work: now). */
  endAt(source: RunningWorkload): number;
  /** The cycle's state of a workload the last cycle did not hold the same way. */
  create(source: RunningWorkload): H;
  /** Makes the last cycle's state of a workload that holds the same this cycle's (its source, queue, what may be stopped). */
  renew(state: H, source: RunningWorkload): void;
  /** Whether the last cycle's state of a workload passed again as the same object holds the same (its end may move with the time). */
  holdsStill(state: H): boolean;
}

/**
 * What one scheduling cycle leaves the next: its fleet and its states of running and pending work
 * (a workload passed again as the same object is taken as unchanged, and not read). A cycle over
 * the same nodes then does not build every node again and apply every running allocation again: a
 * workload that holds the same as in the last cycle (same allocations, same end) keeps its state
 * (its nodes and charges), and only the nodes whose holders changed and those the last cycle itself
 * changed (what it placed, freed or hid) are put back, each by clearing it and applying its
 * holders in snapshot order, as a fresh fleet would; every backfill reservation is dropped. So a
 * plan is the same with or without a carry (`carry.test.ts`); a carry only saves time. Nodes,
 * placement policies or pool label that differ from the last cycle's, or a cycle that did not
 * finish, start afresh.
 */
export class SchedulerCarry {
  private fleet: FleetState | null = null;
  private nodes: readonly SnapshotNode[] = [];
  private config: SchedulerConfig | null = null;
  /** The last cycle's time. */
  private now = -Infinity;
  /** Holders of each node as the last cycle had them (by ordinal), its own placements at the end of each list. */
  private holders: Holder[][] = [];
  /** The last cycle's running work, in its snapshot's order: most workloads keep their place from one snapshot to the next. */
  private running: readonly Holder[] = [];
  /**
   * The same by workload, kept up to date as work starts and ends (rebuilding it each cycle cost
   * more than the lookups it saves); only work with a node in the snapshot (admitting the rest
   * again costs nothing on the fleet).
   */
  private readonly states = new Map<string, Holder>();
  /** Nodes the last cycle changed after admitting what runs. */
  private readonly touched = new Set<NodeState>();
  private finished = false;
  /** The fleet `touched` is filled from, and how to stop that. */
  private watched: FleetState | null = null;
  private unwatch: (() => void) | null = null;
  private scorer: FragmentationScorer | null = null;
  /** The last cycle's pending states, found again by their sources. */
  private readonly pending = new Recall<PendingWorkload, unknown>();
  /** The shapes of the pending work seen, numbered for good (a cycle numbers its own afresh). */
  private kinds = new ShapeTable();
  /** Running work's charges, one object for all that charge alike (`alike`). */
  private readonly charges = new Map<string, Amounts>();

  /** The last cycle's fleet, if it was over the same nodes with the same placement settings; else null (build afresh). */
  fleetFor(nodes: readonly SnapshotNode[], config: SchedulerConfig): FleetState | null {
    const fleet = this.finished && this.config !== null && samePlacement(this.config, config) && sameNodes(this.nodes, nodes) ? this.fleet : null;
    this.finished = false;
    if (fleet === null) {
      this.fleet = null;
      this.running = [];
      this.states.clear();
      return null;
    }
    fleet.reuse();
    return fleet;
  }

  /**
   * This cycle's running work (`sources`, in snapshot order) on the reused fleet, and each node's
   * holders in that order: the last cycle's state of every workload that holds the same, a new one
   * for the rest. Nodes whose holders changed (or their order), and those the last cycle touched,
   * are cleared and get their holders' allocations again.
   */
  admit<H extends Holder>(fleet: FleetState, sources: readonly RunningWorkload[], admission: Admission<H>): { running: H[]; holders: H[][] } {
    // What the carry keeps is what the last cycle gave it (`begin`): the states of one kind of cycle.
    const holders = this.holders as H[][];
    const states = this.states as Map<string, H>;
    const previous = this.running as readonly H[];
    const running = new Array<H>(sources.length);
    // Nodes whose holders may differ from the last cycle's: only these are visited again (most nodes keep theirs).
    const changed = new Uint8Array(fleet.nodes.length);
    const mark = (nodes: readonly (NodeState | null)[]) => {
      for (const node of nodes) if (node) changed[node.ordinal] = 1;
    };
    for (const node of this.touched) changed[node.ordinal] = 1;
    // The last cycle's position of each workload that keeps its state (−1: a new state), and the other way round.
    const was = new Int32Array(sources.length);
    const kept = new Uint8Array(previous.length);
    // Where the next workload most likely was: right after the last one kept. Work that ended or
    // started before it then costs one lookup, not one for every workload after it.
    let next = 0;
    for (let i = 0; i < sources.length; i++) {
      const source = sources[i]!;
      let state = previous[next];
      if (state === undefined || (state.source !== source && state.source.id !== source.id)) state = states.get(source.id);
      // A state is taken once: a workload listed twice gets a second one.
      // The same object as the last cycle's is the same workload (a snapshot is not changed once
      // passed): it is not read, most of a replay's admission cost being reading such objects.
      const reusable =
        state !== undefined &&
        running[state.order] !== state &&
        (state.source === source ? admission.holdsStill(state) : state.endAt === admission.endAt(source) && sameAllocations(state.source.allocations, source.allocations));
      if (reusable) {
        admission.renew(state!, source);
        was[i] = state!.order;
        kept[state!.order] = 1;
        next = state!.order + 1;
      } else {
        state = admission.create(source);
        state.order = i;
        was[i] = -1;
        for (const node of state.nodes) {
          if (!node) continue;
          changed[node.ordinal] = 1;
          states.set(source.id, state);
          // A gang's replicas on one node make it one holder there.
          const list = holders[node.ordinal]!;
          if (!list.includes(state)) list.push(state);
        }
      }
      state!.order = i;
      running[i] = state!;
    }
    // Work that ended or holds otherwise now (it has a new state) leaves its nodes.
    for (let k = 0; k < previous.length; k++) {
      if (kept[k] === 1) continue;
      const h = previous[k]!;
      mark(h.nodes);
      if (states.get(h.source.id) === h) states.delete(h.source.id);
    }
    // Two kept workloads listed the other way round now: the earlier one's nodes sort their holders again.
    let later = Infinity;
    for (let i = sources.length - 1; i >= 0; i--) {
      const at = was[i]!;
      if (at < 0) continue;
      if (at > later) mark(running[i]!.nodes);
      else later = at;
    }
    for (const node of fleet.nodes) {
      // Backfill reservations are the cycle's own, made without telling the watchers.
      node.reservation = null;
      if (changed[node.ordinal] === 0) continue;
      const list = holders[node.ordinal]!;
      // Holders that ended, hold otherwise now or were the last cycle's placements leave the list.
      let kept = 0;
      let sorted = true;
      for (const h of list) {
        if (running[h.order] !== h) continue;
        if (kept > 0 && list[kept - 1]!.order > h.order) sorted = false;
        list[kept++] = h;
      }
      list.length = kept;
      if (!sorted) list.sort((a, b) => a.order - b.order);
      fleet.resetNode(node);
      for (const h of list) {
        const { allocations } = h.source;
        for (let i = 0; i < allocations.length; i++) if (h.nodes[i] === node) fleet.applyTo(node, allocations[i]!, 1, h.endAt);
      }
    }
    return { running, holders };
  }

  /**
   * Whether work the last cycle found past the minimum runtime still is, at `now` under `config`:
   * time did not go back and the minimum did not grow (else each workload's age is read again).
   */
  agedSince(now: number, config: SchedulerConfig): boolean {
    return this.config !== null && now >= this.now && config.minRuntimeMs <= this.config.minRuntimeMs;
  }

  /** Keeps this cycle's fleet, running work and holders, and from now on notes every node the cycle changes. */
  begin(fleet: FleetState, nodes: readonly SnapshotNode[], config: SchedulerConfig, now: number, running: readonly Holder[], holders: Holder[][]): void {
    // A fresh fleet's work was admitted by the cycle, not by `admit`, which keeps `states` up to date.
    if (fleet !== this.fleet) for (const r of running) if (r.nodes.some((node) => node !== null)) this.states.set(r.source.id, r);
    if (fleet !== this.watched) {
      this.unwatch?.();
      this.unwatch = fleet.watch((node) => this.touched.add(node));
      this.watched = fleet;
    }
    this.fleet = fleet;
    this.nodes = nodes;
    this.config = config;
    this.now = now;
    this.holders = holders;
    this.running = running;
    this.touched.clear();
  }

  /**
   * The scorer for a cycle under `config`: a fragmentation-aware one is kept from cycle to cycle,
   * learning each snapshot's mix afresh and keeping its index of the carried fleet's nodes by state.
   */
  scorerFor(config: SchedulerConfig, snapshot: Pick<Snapshot, 'pending' | 'running'>): PlacementScorer {
    return scorerFor(config, snapshot, (this.scorer ??= new FragmentationScorer()));
  }

  /**
   * The states of pending work (`sources`, in order): the last cycle's for a workload passed again
   * as the same object (it is not read again), else `create`d with its shape's number among all
   * this carry has seen (`kind`, `exemplarOf`). What a state found last cycle is the cycle's to reset.
   */
  pendingStates<P>(sources: readonly PendingWorkload[], create: (source: PendingWorkload, kind: number) => P): P[] {
    if (this.kinds.exemplars.length > KIND_LIMIT) {
      this.kinds = new ShapeTable();
      this.pending.clear();
    }
    return this.pending.of(sources, (source) => create(source, this.kinds.idOf(source))) as P[];
  }

  /**
   * One object for every running workload's charge of the same amounts (in the same key order), for
   * the states the carry keeps: a cycle adds up every kept state's charge, and a few objects read
   * again and again stay in the cache where one per workload does not. Charges are never changed.
   */
  alike(amounts: Amounts): Amounts {
    let key = '';
    for (const k in amounts) key += `${k}=${amounts[k]!};`;
    const known = this.charges.get(key);
    if (known) return known;
    if (this.charges.size >= KIND_LIMIT) this.charges.clear();
    this.charges.set(key, amounts);
    return amounts;
  }

  /** The first workload seen of shape number `kind`: all of that shape ask alike. */
  exemplarOf(kind: number): PendingWorkload {
    return this.kinds.exemplars[kind]!;
  }

  /** The cycle made its plan: its fleet may be reused. */
  finish(): void {
    this.finished = this.fleet !== null;
  }
}

/** Past this many shapes numbered (or charges kept), the carry starts afresh (a fleet has few; this bounds a long run's memory). */
const KIND_LIMIT = 4096;

function sameAllocations(a: readonly ReplicaAllocation[], b: readonly ReplicaAllocation[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (x.nodeId !== y.nodeId || x.gpuFraction !== y.gpuFraction || x.gpuModel !== y.gpuModel || x.cpus !== y.cpus || x.memoryMiB !== y.memoryMiB) return false;
    // Every running allocation of every cycle is compared: a loop, and no look at the list itself when it is the same one.
    const gx = x.gpuIndices;
    const gy = y.gpuIndices;
    if (gx === gy) continue;
    if (gx.length !== gy.length) return false;
    for (let k = 0; k < gx.length; k++) if (gx[k] !== gy[k]) return false;
  }
  return true;
}

function samePlacement(a: SchedulerConfig, b: SchedulerConfig): boolean {
  if (a.poolLabel !== b.poolLabel || a.placement.default !== b.placement.default) return false;
  const pa = Object.entries(a.placement.pools);
  return pa.length === Object.keys(b.placement.pools).length && pa.every(([pool, policy]) => b.placement.pools[pool] === policy);
}

function sameNodes(a: readonly SnapshotNode[], b: readonly SnapshotNode[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameNode(a[i]!, b[i]!)) return false;
  return true;
}

function sameNode(a: SnapshotNode, b: SnapshotNode): boolean {
  if (a === b) return true;
  if (a.id !== b.id || a.name !== b.name || a.schedulable !== b.schedulable || a.cpus !== b.cpus || a.memoryMiB !== b.memoryMiB) return false;
  if (a.gpus.length !== b.gpus.length) return false;
  for (let i = 0; i < a.gpus.length; i++) {
    const x = a.gpus[i]!;
    const y = b.gpus[i]!;
    if (x.index !== y.index || x.model !== y.model || x.memoryMiB !== y.memoryMiB) return false;
  }
  const labels = Object.keys(a.labels);
  return labels.length === Object.keys(b.labels).length && labels.every((k) => a.labels[k] === b.labels[k]);
}
