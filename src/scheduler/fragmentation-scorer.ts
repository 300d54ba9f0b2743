import { NodeState, type FleetState, type GpuState } from './fleet.js';
import { bucketScorer, type PlacementScorer } from './placement.js';
import { EPSILON, asksForGpus, gpuShare, isFractional } from './resources.js';
import type { ReplicaAllocation, ReplicaRequest, SchedulerConfig, Snapshot } from './types.js';
import { MinHeap } from './min-heap.js';
import { MixLearner, WorkloadMix } from './workload-mix.js';

/**
 * The shapes of the mix that may use one GPU model, as flat arrays: the fragmentation sum is the
 * hot path of a cache miss. Weights are shares of the mix, a replica counted once per GPU it asks
 * (a share as one).
 */
interface ModelTable {
  /** Weight of the shapes that can never use this model (they accept other models, or ask a share over one GPU): every free GPU is lost to them. */
  lost: number;
  /** GPUs of a whole-GPU shape; 0 for a share. */
  whole: Int32Array;
  /** The share of one GPU a share takes on this model. */
  share: Float64Array;
  /** The rows of shares, the smallest share first: `fragmentation` meets them in one pass over a node's free parts, also smallest first. */
  shareOrder: Int32Array;
  /** Scratch, by row: the free GPU too small for a share's row on the node being scored. */
  stranded: Float64Array;
  cpus: Float64Array;
  memoryMiB: Float64Array;
  weight: Float64Array;
  /** Cores and memory the mix asks per GPU, averaged by weight: what the free GPU of a node will need beside it. */
  cpusPerGpu: number;
  memoryPerGpu: number;
}

/** What placing one request on one node state does: the change in fragmentation, and for a share, the GPU to take (by its use). */
interface Outcome {
  delta: number;
  gpuUsed: number;
}

const NO_FIT: Outcome = { delta: Infinity, gpuUsed: -1 };

/** Fragmentation changes closer than this are a tie, broken by what is left free. */
const TIE = 1e-9;

/** Cache entries before the caches are dropped: a bound on memory in a long-lived scorer. */
const CACHE_LIMIT = 1 << 20;

/**
 * State classes before the index starts afresh: a scorer kept from cycle to cycle (carry.ts) meets
 * new states for as long as the server runs, and each class holds a set and a heap of its nodes.
 */
const CLASS_LIMIT = 1 << 16;

/**
 * How much more a free GPU stranded for lack of cores or memory counts than one stranded by shape.
 * Above 1 because a node short of cores loses its free GPU to every later shape at once, and such
 * losses only grow as the node fills; on the OpenB fill 1 gives 95.5 % and 10 gives 95.75 % at
 * 100 % arrived, with little more beyond (30: 95.8).
 */
const STRANDING_WEIGHT = 10;

/**
 * Fragmentation-aware placement after FGD (Weng et al., "Beware of Fragmentation", ATC'23), for
 * nodes whose placement policy is `fragmentation`. The fragmentation of a node for a replica shape
 * is the free GPU the shape cannot use there: all of it when the shape cannot start there at all
 * (model, cores, memory, or GPUs), else the free part of each GPU too small for the shape's share
 * (for whole GPUs, of each partly used GPU). A node's fragmentation is that amount averaged over the
 * mix of shapes the scheduler has seen (`WorkloadMix`), each weighted by how many replicas of it
 * were seen times the GPUs each asks (a share as one GPU): a blocked 8-GPU shape strands eight
 * times what a blocked 1-GPU one does, and a blocked share turns away a replica just as a blocked
 * 1-GPU one does. To that it adds the free GPU the node's cores and memory cannot feed at the mix's
 * cores and memory per GPU (`stranding`, `STRANDING_WEIGHT`). A replica goes to the model, node
 * and (for a share) GPU where it increases fragmentation least. Ties go to the best fit (`left`), then to the first node by name, so a plan
 * depends only on its snapshot. Nodes of other policies are offered after, as `bucketScorer`
 * orders them.
 *
 * Cost: a score depends only on a node's free resources and the request, so nodes are indexed by
 * their state (a class: GPUs and their use, cores and memory free), kept up to date from the
 * fleet's changes; each replica scores the occupied classes, not the nodes, and a class's score is
 * computed once per request until the mix changes. A fleet of thousands of alike nodes has a few
 * dozen classes.
 */
export class FragmentationScorer implements PlacementScorer {
  private learned: WorkloadMix;
  private readonly learner = new MixLearner();
  private fleet: FleetState | null = null;
  /** The mix, and its version, that the tables and outcomes were derived from. */
  private mixRead: WorkloadMix | null = null;
  private mixVersion = -1;
  /** Stops telling this scorer of the changes of the fleet it no longer scores. */
  private unwatch: (() => void) | null = null;
  private readonly tables = new Map<string, ModelTable>();
  /** The most cores and GPUs of one node in the fleet: the scale of the tie-break. */
  private largestCores = 1;
  private largestGpus = 1;
  /** Node ordinal → its state class, valid while the node's version is `classVersion − 1`. */
  private nodeClass = new Int32Array(0);
  private classVersion = new Float64Array(0);
  private readonly classIds = new Map<string, number>();
  private classes: StateClass[] = [];
  /** Node ordinal → the class it is indexed under, −1 for none (not schedulable, or not a fragmentation node). */
  private memberOf = new Int32Array(0);
  /** GPU model → the classes with members and GPUs of that model; `null` → every class with members. */
  private readonly occupied = new Map<string | null, Set<StateClass>>();
  /** Nodes changed since the index was last brought up to date, each once. */
  private dirty: NodeState[] = [];
  private dirtyMark = new Uint8Array(0);
  private indexed = false;
  /** Request → model → its id; `requests` ids given. */
  private readonly requestIds = new Map<string, Map<string | null, number>>();
  private requests = 0;
  /** The last request asked about and its ids by model: a replica's passes over its models ask for one request in turn. */
  private lastRequest: ReplicaRequest | null = null;
  private lastIds = new Map<string | null, number>();
  /** Request on a model → state class → outcome. */
  private outcomes: (Outcome | undefined)[][] = [];
  private cached = 0;
  /** State class → its fragmentation before anything more is placed. */
  private fragmentationOf: (number | undefined)[] = [];
  /** The passes `orderModels` made, kept for the `candidates` call that follows while the fleet is unchanged. */
  private passes: { request: ReplicaRequest; version: number; byModel: Map<string, Pass> } | null = null;

  constructor(
    mix = new WorkloadMix(),
    private readonly classLimit = CLASS_LIMIT,
  ) {
    this.learned = mix;
  }

  get mix(): WorkloadMix {
    return this.learned;
  }

  /**
   * Learns the mix afresh from `snapshot`'s pending and running work, for a scorer kept from one
   * cycle to the next (carry.ts): what it derived from the mix goes, its index of nodes stays.
   */
  learn(snapshot: Pick<Snapshot, 'pending' | 'running'>): void {
    this.learned = this.learner.mixOf(snapshot);
  }

  *candidates(fleet: FleetState, request: ReplicaRequest, model: string): Iterable<NodeState> {
    if (fleet.policies.has('fragmentation')) yield* this.bestFirst(this.passOver(fleet, request, model));
    if (fleet.policies.size > 1 || !fleet.policies.has('fragmentation')) {
      for (const node of bucketScorer.candidates(fleet, request, model)) if (node.policy !== 'fragmentation') yield node;
    }
  }

  /** Work without GPUs still strands GPUs where it takes the cores or memory a GPU shape needs. */
  *candidatesWithoutGpus(fleet: FleetState, request: ReplicaRequest): Iterable<NodeState> {
    yield* this.bestFirst(this.pass(fleet, request, null));
    for (const node of fleet.nodes) if (node.policy !== 'fragmentation') yield node;
  }

  rank(nodes: NodeState[], model: string): NodeState[] {
    return bucketScorer.rank(nodes, model);
  }

  /**
   * A placer starts its work: the one safe point to start the index afresh once it has grown past
   * its bounds (no pass or ranking is in progress).
   */
  attach(fleet: FleetState): void {
    if (this.classIds.size > this.classLimit || this.requests > CACHE_LIMIT) this.fleet = null;
    this.sync(fleet);
  }

  fit(node: NodeState, request: ReplicaRequest, model: string): ReplicaAllocation | null {
    if (!isFractional(request) || node.policy !== 'fragmentation') return node.fit(request, model);
    this.sync(this.fleet);
    const state = this.classOf(node).id;
    const { gpuUsed } = this.outcome(node, state, request, model, this.requestId(request, model));
    const gpu = node.byModel.get(model)?.find((g) => g.used === gpuUsed);
    return gpu ? node.fitShareOn(request, gpu) : null;
  }

  /** Models by the least fragmentation their best node would add; those without room keep their order, last. */
  orderModels(fleet: FleetState, request: ReplicaRequest, models: readonly string[]): string[] {
    if (!fleet.policies.has('fragmentation')) return [...models];
    const byModel = new Map(models.map((model) => [model, this.pass(fleet, request, model)]));
    this.passes = { request, version: fleet.version, byModel };
    const order = [...models];
    order.sort((a, b) => {
      const pa = byModel.get(a)!;
      const pb = byModel.get(b)!;
      if (pa.best === null || pb.best === null) return pa.best === null ? (pb.best === null ? 0 : 1) : -1;
      return this.better(pa.best, pa.delta, pb.best, pb.delta);
    });
    return order;
  }

  private passOver(fleet: FleetState, request: ReplicaRequest, model: string): Pass {
    const kept = this.passes;
    const pass = kept && kept.request === request && kept.version === fleet.version && this.fleet === fleet ? kept.byModel.get(model) : undefined;
    return pass ?? this.pass(fleet, request, model);
  }

  /**
   * Scores every state class that fragmentation nodes of `model` with room are in (`null`: every
   * class, for work without GPUs), once each: nodes in one state score alike, so a pass costs the
   * number of distinct states, not of nodes.
   */
  private pass(fleet: FleetState, request: ReplicaRequest, model: string | null): Pass {
    this.sync(fleet);
    this.refresh();
    const pass: Pass = { request, model, requestId: this.requestId(request, model), best: null, delta: Infinity };
    for (const cls of this.occupied.get(model) ?? []) {
      const delta = this.deltaOf(pass, cls);
      // Most classes are clearly worse or better: only near-ties need the tie-break.
      if (delta === Infinity || delta > pass.delta + TIE) continue;
      if (pass.best === null || delta < pass.delta - TIE || this.better(cls, delta, pass.best, pass.delta) < 0) {
        pass.best = cls;
        pass.delta = delta;
      }
    }
    return pass;
  }

  /** The change in fragmentation placing the pass's request on a node of the class makes; Infinity where it does not fit. */
  private deltaOf(pass: Pass, cls: StateClass): number {
    const { request } = pass;
    if (request.cpus > cls.cpuFree + EPSILON || request.memoryMiB > cls.memFree + EPSILON) return Infinity;
    return (this.outcomes[pass.requestId]?.[cls.id] ?? this.outcome(this.lowest(cls), cls.id, request, pass.model, pass.requestId)).delta;
  }

  /** Drops what was derived from another fleet or an older mix. */
  private sync(fleet: FleetState | null): void {
    if (fleet !== null && fleet !== this.fleet) {
      this.unwatch?.();
      this.unwatch = fleet.watch((node) => this.changed(fleet, node));
      this.fleet = fleet;
      const nodes = fleet.nodes.length;
      this.largestCores = Math.max(1, ...fleet.nodes.map((n) => n.source.cpus));
      this.largestGpus = Math.max(1, ...fleet.nodes.map((n) => n.gpus.length));
      this.nodeClass = new Int32Array(nodes);
      this.classVersion = new Float64Array(nodes);
      this.memberOf = new Int32Array(nodes).fill(-1);
      this.dirtyMark = new Uint8Array(nodes);
      this.dirty = [];
      this.indexed = false;
      this.occupied.clear();
      this.classIds.clear();
      this.classes = [];
      this.requestIds.clear();
      this.requests = 0;
      this.lastRequest = null;
      this.clear();
    }
    if (this.mix !== this.mixRead || this.mix.version !== this.mixVersion || this.cached > CACHE_LIMIT) {
      this.mixRead = this.mix;
      this.mixVersion = this.mix.version;
      this.tables.clear();
      this.clear();
    }
  }

  private clear(): void {
    this.outcomes = [];
    this.cached = 0;
    this.fragmentationOf = [];
    this.passes = null;
  }

  private changed(fleet: FleetState, node: NodeState): void {
    if (fleet !== this.fleet || !this.indexed || this.dirtyMark[node.ordinal] === 1) return;
    this.dirtyMark[node.ordinal] = 1;
    this.dirty.push(node);
  }

  /** Brings the index of nodes by state class up to date: every node the first time, else those changed since. */
  private refresh(): void {
    if (!this.indexed) {
      this.indexed = true;
      for (const node of this.fleet!.nodes) this.reindex(node);
      return;
    }
    for (const node of this.dirty) {
      this.dirtyMark[node.ordinal] = 0;
      this.reindex(node);
    }
    this.dirty = [];
  }

  /** Files the node under the class of its present state, or under none when no pass may offer it. */
  private reindex(node: NodeState): void {
    const was = this.memberOf[node.ordinal]!;
    const cls = node.schedulable && node.policy === 'fragmentation' ? this.classOf(node) : null;
    if (was === (cls?.id ?? -1)) return;
    if (was >= 0) {
      const old = this.classes[was]!;
      old.members.delete(node);
      if (old.members.size === 0) for (const model of old.models) this.occupied.get(model)?.delete(old);
    }
    this.memberOf[node.ordinal] = cls?.id ?? -1;
    if (!cls) return;
    cls.members.add(node);
    cls.byOrdinal.push(node);
    if (cls.members.size > 1) return;
    for (const model of cls.models) {
      let set = this.occupied.get(model);
      if (!set) this.occupied.set(model, (set = new Set()));
      set.add(cls);
    }
  }

  /** The class's member first by name; entries of nodes that have left are dropped as they surface. */
  private lowest(cls: StateClass): NodeState {
    for (;;) {
      const node = cls.byOrdinal.peek()!;
      if (this.memberOf[node.ordinal] === cls.id) return node;
      cls.byOrdinal.pop();
    }
  }

  /** Below 0 when class a (with its change in fragmentation) goes before b: less fragmentation, then best fit, then the first node by name. */
  private better(a: StateClass, deltaA: number, b: StateClass, deltaB: number): number {
    if (Math.abs(deltaA - deltaB) > TIE) return deltaA - deltaB;
    const leftA = this.left(a);
    const leftB = this.left(b);
    if (Math.abs(leftA - leftB) > TIE) return leftA - leftB;
    return this.lowest(a).ordinal - this.lowest(b).ordinal;
  }

  /**
   * The tie-break, best fit: what a node in this state has free, cores and GPUs weighted alike,
   * each as a share of the largest node's (a node that does not report cores counts them all free).
   */
  private left(cls: StateClass): number {
    const cores = Number.isFinite(cls.cpuFree) ? cls.cpuFree / this.largestCores : 1;
    return 0.5 * cores + 0.5 * (cls.free / this.largestGpus);
  }

  /**
   * The best node first: the placer usually takes it. Only when it does not are the classes scored
   * again (from the cache) and ordered, each class's nodes by name.
   */
  private *bestFirst(pass: Pass): Iterable<NodeState> {
    if (pass.best === null) return;
    const first = this.lowest(pass.best);
    yield first;
    const scored: { cls: StateClass; delta: number }[] = [];
    for (const cls of this.occupied.get(pass.model) ?? []) {
      const delta = this.deltaOf(pass, cls);
      if (delta !== Infinity) scored.push({ cls, delta });
    }
    scored.sort((a, b) => this.better(a.cls, a.delta, b.cls, b.delta));
    for (const { cls } of scored) {
      const nodes = [...cls.members].sort((a, b) => a.ordinal - b.ordinal);
      for (const node of nodes) if (node !== first) yield node;
    }
  }

  private outcome(node: NodeState, state: number, request: ReplicaRequest, model: string | null, requestId: number): Outcome {
    const byState = (this.outcomes[requestId] ??= []);
    let outcome = byState[state];
    if (!outcome) {
      byState[state] = outcome = this.evaluate(node, state, request, model);
      this.cached += 1;
    }
    return outcome;
  }

  /** Nodes with the same GPUs, use, cores and memory free fragment alike: they share one class. */
  private classOf(node: NodeState): StateClass {
    const o = node.ordinal;
    if (this.classVersion[o] === node.version + 1) return this.classes[this.nodeClass[o]!]!;
    let key = `${node.cpuFree}|${node.memFree}`;
    for (const [model, gpus] of node.byModel) key += `|${model}${useKey(gpus)}`;
    let id = this.classIds.get(key);
    if (id === undefined) {
      this.classIds.set(key, (id = this.classes.length));
      let free = 0;
      for (const gpu of node.gpus) free += 1 - gpu.used;
      this.classes.push({
        id,
        models: [null, ...node.byModel.keys()],
        cpuFree: node.cpuFree,
        memFree: node.memFree,
        free,
        members: new Set(),
        byOrdinal: new MinHeap((a, b) => a.ordinal < b.ordinal),
      });
    }
    this.nodeClass[o] = id;
    this.classVersion[o] = node.version + 1;
    return this.classes[id]!;
  }

  private requestId(request: ReplicaRequest, model: string | null): number {
    if (request !== this.lastRequest) {
      const key = `${request.gpus}|${request.gpuFraction}|${request.gpuMemoryMiB}|${request.cpus}|${request.memoryMiB}`;
      let ids = this.requestIds.get(key);
      if (!ids) this.requestIds.set(key, (ids = new Map()));
      this.lastRequest = request;
      this.lastIds = ids;
    }
    let id = this.lastIds.get(model);
    if (id === undefined) this.lastIds.set(model, (id = this.requests++));
    return id;
  }



  private evaluate(node: NodeState, state: number, request: ReplicaRequest, model: string | null): Outcome {
    const before = (this.fragmentationOf[state] ??= this.nodeFragmentation(node, node.cpuFree, node.memFree, null, null));
    const cpus = node.cpuFree - request.cpus;
    const memory = node.memFree - request.memoryMiB;
    if (model === null || !asksForGpus(request)) return { delta: this.nodeFragmentation(node, cpus, memory, null, null) - before, gpuUsed: -1 };
    const gpus = node.byModel.get(model);
    if (!gpus) return NO_FIT;
    // Scratch, not a new array: a fill scores a few hundred thousand states.
    const free = freeOf(gpus, (evaluated = grown(evaluated, gpus.length)));
    if (!isFractional(request)) {
      let left = request.gpus;
      for (let i = 0; i < gpus.length && left > 0; i++) {
        if (gpus[i]!.used > EPSILON) continue;
        free[i] = 0;
        left -= 1;
      }
      return left > 0 ? NO_FIT : { delta: this.nodeFragmentation(node, cpus, memory, model, free) - before, gpuUsed: -1 };
    }
    // One trial per distinct use: GPUs used alike give the same result.
    let best = NO_FIT;
    for (let i = 0; i < gpus.length; i++) {
      const gpu = gpus[i]!;
      if (triedBefore(request, gpus, i) || !NodeState.shareFits(request, gpu)) continue;
      free[i] = 1 - gpu.used - gpuShare(request, gpu.memoryMiB);
      const delta = this.nodeFragmentation(node, cpus, memory, model, free) - before;
      free[i] = 1 - gpu.used;
      if (delta < best.delta - TIE || (delta <= best.delta + TIE && gpu.used > best.gpuUsed)) best = { delta, gpuUsed: gpu.used };
    }
    return best;
  }

  /** The node's fragmentation with `cpus` and `memory` free, and `free` on the GPUs of `model` in place of what they have. */
  private nodeFragmentation(node: NodeState, cpus: number, memory: number, model: string | null, free: Float64Array | null): number {
    let sum = 0;
    for (const [m, gpus] of node.byModel) {
      const own = m === model && free ? free : freeOf(gpus, (others = grown(others, gpus.length)));
      sum += fragmentation(this.tableOf(m), own, gpus.length, cpus, memory);
    }
    return sum;
  }

  private tableOf(model: string): ModelTable {
    let table = this.tables.get(model);
    if (!table) this.tables.set(model, (table = this.buildTable(model)));
    return table;
  }

  private buildTable(model: string): ModelTable {
    const memoryOfGpu = this.fleet?.memoryOfModel.get(model) ?? 0;
    const rows: { whole: number; share: number; cpus: number; memoryMiB: number; weight: number }[] = [];
    let lost = 0;
    let total = 0;
    for (const { request, gpuModels, count } of this.mix.all()) {
      if (!asksForGpus(request)) continue;
      const share = isFractional(request) ? gpuShare(request, memoryOfGpu) : 1;
      const weight = count * (isFractional(request) ? 1 : request.gpus);
      total += weight;
      if ((gpuModels !== null && !gpuModels.includes(model)) || share > 1 + EPSILON) lost += weight;
      else rows.push({ whole: isFractional(request) ? 0 : request.gpus, share, cpus: request.cpus, memoryMiB: request.memoryMiB, weight });
    }
    const scale = total > 0 ? 1 / total : 0;
    let usable = 0;
    let cpusPerGpu = 0;
    let memoryPerGpu = 0;
    for (const r of rows) {
      const gpus = r.whole > 0 ? r.whole : r.share;
      usable += r.weight;
      cpusPerGpu += (r.weight * r.cpus) / gpus;
      memoryPerGpu += (r.weight * r.memoryMiB) / gpus;
    }
    const shareOrder = Int32Array.from(rows.keys()).filter((i) => rows[i]!.whole === 0);
    shareOrder.sort((a, b) => rows[a]!.share - rows[b]!.share);
    return {
      shareOrder,
      stranded: new Float64Array(rows.length),
      cpusPerGpu: usable > 0 ? cpusPerGpu / usable : 0,
      memoryPerGpu: usable > 0 ? memoryPerGpu / usable : 0,
      lost: lost * scale,
      whole: Int32Array.from(rows, (r) => r.whole),
      share: Float64Array.from(rows, (r) => r.share),
      cpus: Float64Array.from(rows, (r) => r.cpus),
      memoryMiB: Float64Array.from(rows, (r) => r.memoryMiB),
      weight: Float64Array.from(rows, (r) => r.weight * scale),
    };
  }
}

/** The scorer for a cycle over `snapshot`: its mix is every pending and running replica there. */
export function fragmentationScorer(snapshot: Pick<Snapshot, 'pending' | 'running'>): FragmentationScorer {
  const scorer = new FragmentationScorer();
  scorer.learn(snapshot);
  return scorer;
}

/** The scorer for a cycle under `config`: fragmentation-aware when any pool asks for it (`kept`, taught this snapshot's mix, when given), else the bucket scorer. */
export function scorerFor(config: SchedulerConfig, snapshot: Pick<Snapshot, 'pending' | 'running'>, kept?: FragmentationScorer): PlacementScorer {
  if (!usesFragmentation(config)) return bucketScorer;
  if (!kept) return fragmentationScorer(snapshot);
  kept.learn(snapshot);
  return kept;
}

function usesFragmentation(config: SchedulerConfig): boolean {
  return config.placement.default === 'fragmentation' || Object.values(config.placement.pools).includes('fragmentation');
}

/** The free GPU of one model on a node (`free`, per GPU, the first `n`) that the mix's shapes cannot use, weighted by the mix. */
function fragmentation(table: ModelTable, free: Float64Array, n: number, cpus: number, memory: number): number {
  let sum = 0;
  let whole = 0;
  let largest = 0;
  for (let g = 0; g < n; g++) {
    const f = free[g]!;
    sum += f;
    if (f >= 1 - EPSILON) whole += 1;
    if (f > largest) largest = f;
  }
  if (sum <= EPSILON) return 0;
  const { weight, whole: wholeOf, share: shareOf, cpus: cpusOf, memoryMiB: memoryOf, shareOrder, stranded } = table;
  if (shareOrder.length > 0) {
    // The free parts too small for each share: shares and free parts both smallest first, one pass over each.
    const sorted = (ascending = grown(ascending, n));
    for (let g = 0; g < n; g++) {
      const f = free[g]!;
      let k = g;
      for (; k > 0 && sorted[k - 1]! > f; k--) sorted[k] = sorted[k - 1]!;
      sorted[k] = f;
    }
    let below = 0;
    let g = 0;
    for (let j = 0; j < shareOrder.length; j++) {
      const i = shareOrder[j]!;
      const share = shareOf[i]!;
      for (; g < n && sorted[g]! + EPSILON < share; g++) below += sorted[g]!;
      stranded[i] = below;
    }
  }
  let lost = table.lost * sum;
  for (let i = 0; i < weight.length; i++) {
    const w = weight[i]!;
    if (cpusOf[i]! > cpus + EPSILON || memoryOf[i]! > memory + EPSILON) {
      lost += w * sum;
      continue;
    }
    const k = wholeOf[i]!;
    if (k > 0) {
      lost += w * (whole >= k ? sum - whole : sum);
      continue;
    }
    lost += w * (largest + EPSILON < shareOf[i]! ? sum : stranded[i]!);
  }
  return lost + STRANDING_WEIGHT * stranding(table, sum, cpus, memory);
}

/** Scratch arrays of the scoring functions, grown as nodes with more GPUs come: nothing is kept in them between calls. */
let evaluated: Float64Array = new Float64Array(8);
let others: Float64Array = new Float64Array(8);
let ascending: Float64Array = new Float64Array(8);

function grown(scratch: Float64Array, length: number): Float64Array {
  return scratch.length >= length ? scratch : new Float64Array(Math.max(length, scratch.length * 2));
}

/** Each GPU's free part, into `into`. */
function freeOf(gpus: readonly GpuState[], into: Float64Array): Float64Array {
  for (let i = 0; i < gpus.length; i++) into[i] = 1 - gpus[i]!.used;
  return into;
}

/** Whether a GPU before the `i`-th, used exactly as it is, was tried already (the share fits there). */
function triedBefore(request: ReplicaRequest, gpus: readonly GpuState[], i: number): boolean {
  const used = gpus[i]!.used;
  for (let k = 0; k < i; k++) if (gpus[k]!.used === used && NodeState.shareFits(request, gpus[k]!)) return true;
  return false;
}

/**
 * The free GPU that the cores and memory left beside it cannot feed, at the mix's average cores and
 * memory per GPU: a node that has given its cores away strands its GPUs for every shape, which the
 * per-shape test above sees only once a shape no longer fits at all.
 */
function stranding(table: ModelTable, free: number, cpus: number, memory: number): number {
  const byCpus = table.cpusPerGpu > 0 ? cpus / table.cpusPerGpu : Infinity;
  const byMemory = table.memoryPerGpu > 0 ? memory / table.memoryPerGpu : Infinity;
  return Math.max(0, free - Math.min(byCpus, byMemory));
}

/**
 * The use of one model's GPUs on a node, as a key: the count held whole when every GPU is free or
 * held whole (the common case, and every node is keyed each cycle), else each GPU's use in order.
 */
function useKey(gpus: readonly GpuState[]): string {
  let held = 0;
  for (const gpu of gpus) {
    if (gpu.used === 1) held += 1;
    else if (gpu.used !== 0) return `:${gpus.map((g) => g.used).sort((a, b) => a - b).join(',')}`;
  }
  return `=${gpus.length}/${held}`;
}

/** Nodes in one state (GPUs and their use, cores and memory free): every score of one is the score of all. */
interface StateClass {
  id: number;
  /** `null` and the models of its GPUs: the passes that look at it. */
  models: (string | null)[];
  cpuFree: number;
  memFree: number;
  /** Its free GPU, for the tie-break. */
  free: number;
  /** The schedulable fragmentation nodes in this state now. */
  members: Set<NodeState>;
  /** The same, lowest ordinal first; holds stale entries of nodes that have left until they surface. */
  byOrdinal: MinHeap<NodeState>;
}

/** One scoring pass over the state classes for one replica on one model. */
interface Pass {
  request: ReplicaRequest;
  model: string | null;
  requestId: number;
  /** The best class so far and its change in fragmentation; its first node by name is the one offered. */
  best: StateClass | null;
  delta: number;
}
