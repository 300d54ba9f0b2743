import { CPU, EPSILON, GPU, MEMORY, gpuKey, gpuShare, isFractional, type Amounts } from './resources.js';
import type { PlacementPolicy, ReplicaAllocation, ReplicaRequest, SchedulerConfig, SnapshotNode } from './types.js';

export interface GpuState {
  index: number;
  model: string;
  memoryMiB: number;
  /** Share in use, 0..1; a whole-GPU holder sets it to 1. */
  used: number;
  /** Holders without a time limit: while any holds it, the GPU has no known time to be free. */
  unlimited: number;
  /** When each time-limited holder's limit ends; the GPU is free once all have ended. */
  ends: number[] | null;
}

/** What a backfill reservation holds on one node until its start time. */
export interface NodeReservation {
  workloadId: string;
  workloadName: string;
  at: number;
  model: string;
  /** Whole GPUs of `model` the reservation needs free on this node at `at`. */
  gpus: number;
  /** Whole GPUs of `model` free on this node at `at`, less what long workloads placed since took. */
  freeAt: number;
  /** Cores and memory it needs here, and what is free here at `at` less what long workloads took. */
  cpus: number;
  cpusAt: number;
  memoryMiB: number;
  memoryAt: number;
}

export class NodeState {
  readonly gpus: GpuState[];
  readonly byModel = new Map<string, GpuState[]>();
  /** By GPU index (small integers), for the hot path of taking and giving back allocations. */
  readonly byIndex: (GpuState | undefined)[] = [];
  /** Whole free GPUs by model. */
  readonly freeWhole = new Map<string, number>();
  cpuFree = 0;
  memFree = 0;
  reservation: NodeReservation | null = null;
  /** Its position in the fleet's node list, for per-node arrays kept beside the fleet. */
  ordinal = 0;
  /** Starts as the snapshot says; a consolidation search hides nodes it is freeing. */
  schedulable = true;
  /** Counts the changes to what is free here, so a scorer can cache what it derived from this node. */
  version = 0;

  constructor(
    readonly source: SnapshotNode,
    readonly policy: PlacementPolicy,
  ) {
    this.gpus = source.gpus.map((g) => ({ index: g.index, model: g.model, memoryMiB: g.memoryMiB, used: 0, unlimited: 0, ends: null }));
    // Nodes report their GPUs in index order; sorting is for those that do not.
    if (!this.gpus.every((g, i) => i === 0 || this.gpus[i - 1]!.index < g.index)) this.gpus.sort((a, b) => a.index - b.index);
    for (const gpu of this.gpus) {
      this.byIndex[gpu.index] = gpu;
      const list = this.byModel.get(gpu.model) ?? [];
      list.push(gpu);
      this.byModel.set(gpu.model, list);
    }
    this.clear();
  }

  /** As the snapshot has it, holding nothing. */
  clear(): void {
    for (const gpu of this.gpus) {
      gpu.used = 0;
      gpu.unlimited = 0;
      gpu.ends = null;
    }
    for (const [model, gpus] of this.byModel) this.freeWhole.set(model, gpus.length);
    // A node that did not report cores or memory is not constrained by them.
    this.cpuFree = this.source.cpus > 0 ? this.source.cpus : Infinity;
    this.memFree = this.source.memoryMiB > 0 ? this.source.memoryMiB : Infinity;
    this.reservation = null;
    this.schedulable = this.source.schedulable;
  }

  get id(): string {
    return this.source.id;
  }

  label(key: string): string | undefined {
    return key === 'node' ? this.source.id : this.source.labels[key];
  }

  /** The GPUs (and share of each) this node would give `request` on `model`, or null if it cannot. */
  fit(request: ReplicaRequest, model: string): ReplicaAllocation | null {
    if (request.cpus > this.cpuFree + EPSILON || request.memoryMiB > this.memFree + EPSILON) return null;
    const gpus = this.byModel.get(model) ?? [];
    if (isFractional(request)) {
      // Bin-pack shares: the fullest GPU that still has room, so whole GPUs stay whole.
      let best: GpuState | null = null;
      for (const gpu of gpus) if (NodeState.shareFits(request, gpu) && (best === null || gpu.used > best.used)) best = gpu;
      return best ? this.allocation([best.index], gpuShare(request, best.memoryMiB), model, request) : null;
    }
    if ((this.freeWhole.get(model) ?? 0) < request.gpus) return null;
    const indices: number[] = [];
    for (const gpu of gpus) {
      if (indices.length === request.gpus) break;
      if (gpu.used === 0) indices.push(gpu.index);
    }
    return this.allocation(indices, null, model, request);
  }

  /** `fit` for a share on the given GPU of this node: for a scorer that weighs each GPU itself. */
  fitShareOn(request: ReplicaRequest, gpu: GpuState): ReplicaAllocation | null {
    if (request.cpus > this.cpuFree + EPSILON || request.memoryMiB > this.memFree + EPSILON || !NodeState.shareFits(request, gpu)) return null;
    return this.allocation([gpu.index], gpuShare(request, gpu.memoryMiB), gpu.model, request);
  }

  static shareFits(request: ReplicaRequest, gpu: GpuState): boolean {
    const share = gpuShare(request, gpu.memoryMiB);
    return share <= 1 + EPSILON && gpu.used + share <= 1 + EPSILON;
  }

  /** Always built with the same keys in the same order: one object shape keeps the hot paths fast. */
  private allocation(gpuIndices: number[], gpuFraction: number | null, gpuModel: string | null, request: ReplicaRequest): ReplicaAllocation {
    return { nodeId: this.id, gpuIndices, gpuFraction, gpuModel, cpus: request.cpus, memoryMiB: request.memoryMiB };
  }

  /** A node that takes no GPUs but fits cores and memory. */
  fitsWithoutGpus(request: ReplicaRequest): ReplicaAllocation | null {
    if (request.cpus > this.cpuFree + EPSILON || request.memoryMiB > this.memFree + EPSILON) return null;
    return this.allocation([], null, null, request);
  }

  /** When the GPU is next free, as far as time limits tell: now if it is, Infinity if never known. */
  static freeAt(gpu: GpuState, now: number): number {
    if (gpu.used <= EPSILON) return now;
    if (gpu.unlimited > 0) return Infinity;
    let last = now;
    for (const end of gpu.ends ?? []) if (end > last) last = end;
    return last;
  }

  hasPartialGpu(model: string): boolean {
    return (this.byModel.get(model) ?? []).some((g) => g.used > EPSILON && g.used < 1 - EPSILON);
  }
}

/**
 * Every node's free GPUs, cores and memory during one cycle, with an index of schedulable nodes by
 * their count of free whole GPUs per model: the placement scorer walks it instead of every node, and
 * a request larger than any node's free block is refused without a walk.
 */
export class FleetState {
  readonly nodes: NodeState[];
  readonly byId: Map<string, NodeState>;
  /** model → free whole count → schedulable nodes with that many free. */
  private readonly buckets = new Map<string, Set<NodeState>[]>();
  /** model → schedulable nodes with a GPU partly shared. */
  private readonly partial = new Map<string, Set<NodeState>>();
  /** Models in the fleet, in the order first seen (stable, so plans are deterministic). */
  readonly models: string[] = [];
  readonly memoryOfModel = new Map<string, number>();
  /** The most GPUs of each model on one schedulable node, free or not. */
  readonly largestNode = new Map<string, number>();
  readonly hasSpreadNodes: boolean;
  /** Placement policies of the schedulable and unschedulable nodes alike. */
  readonly policies: ReadonlySet<PlacementPolicy>;
  /** Counts every change to what is free anywhere, so a scorer can tell its cached ranking still holds. */
  version = 0;
  private indexed = false;
  /** Allocations held with a finite end: without any, no backfill reservation can have a start time. */
  timeLimited = 0;
  private readonly domainsByLabel = new Map<string, Map<string, NodeState[]>>();
  private capacityOfNodes: Readonly<Amounts> | null = null;
  /** Told of each node whose free resources or schedulability change: a scorer that indexes nodes by state keeps it true without walking them. */
  private readonly watchers: ((node: NodeState) => void)[] = [];

  constructor(nodes: SnapshotNode[], config: SchedulerConfig) {
    // The store lists nodes by name already; sorting 5,000 names every cycle cost more than checking.
    const byName = (a: SnapshotNode, b: SnapshotNode) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const sorted = nodes.every((n, i) => i === 0 || byName(nodes[i - 1]!, n) < 0) ? nodes : [...nodes].sort(byName);
    this.nodes = sorted.map((n) => new NodeState(n, config.placement.pools[n.labels[config.poolLabel] ?? ''] ?? config.placement.default));
    this.byId = new Map(this.nodes.map((n) => [n.id, n]));
    this.nodes.forEach((n, i) => (n.ordinal = i));
    this.hasSpreadNodes = this.nodes.some((n) => n.policy === 'spread');
    this.policies = new Set(this.nodes.map((n) => n.policy));
    for (const node of this.nodes) {
      if (!node.schedulable) continue;
      for (const [model, gpus] of node.byModel) this.largestNode.set(model, Math.max(this.largestNode.get(model) ?? 0, gpus.length));
    }
    for (const node of this.nodes) {
      for (const gpu of node.gpus) {
        if (!this.memoryOfModel.has(gpu.model)) {
          this.models.push(gpu.model);
          this.memoryOfModel.set(gpu.model, gpu.memoryMiB);
        }
      }
    }
  }

  /**
   * Builds the index once what already runs has been applied: applying thousands of running
   * allocations one by one through the index costs more than the rest of a cycle.
   */
  index(): void {
    this.indexed = true;
    for (const node of this.nodes) {
      if (!node.schedulable) continue;
      for (const [model, free] of node.freeWhole) {
        this.bucket(model, free).add(node);
        if (node.hasPartialGpu(model)) {
          let partial = this.partial.get(model);
          if (!partial) this.partial.set(model, (partial = new Set()));
          partial.add(node);
        }
      }
    }
  }

  private bucket(model: string, free: number): Set<NodeState> {
    let list = this.buckets.get(model);
    if (!list) this.buckets.set(model, (list = []));
    while (list.length <= free) list.push(new Set());
    return list[free]!;
  }

  /** Nodes with exactly `free` whole free GPUs of `model`. */
  nodesWithFree(model: string, free: number): ReadonlySet<NodeState> {
    return this.buckets.get(model)?.[free] ?? new Set();
  }

  /** The most whole free GPUs of `model` on one schedulable node. */
  largestFree(model: string): number {
    const list = this.buckets.get(model);
    if (!list) return 0;
    for (let k = list.length - 1; k > 0; k--) if (list[k]!.size > 0) return k;
    return 0;
  }

  totalFree(model: string): number {
    const list = this.buckets.get(model);
    let total = 0;
    if (list) for (let k = 1; k < list.length; k++) total += k * list[k]!.size;
    return total;
  }

  nodesWithPartial(model: string): ReadonlySet<NodeState> {
    return this.partial.get(model) ?? new Set();
  }

  /**
   * What the schedulable nodes hold, by resource (GPUs, GPUs of each model, cores and memory of
   * the nodes that report them). Computed once: it depends only on the nodes as their snapshot has
   * them, and a fleet is only carried to a cycle over the same nodes (carry.ts).
   */
  capacity(): Readonly<Amounts> {
    if (this.capacityOfNodes) return this.capacityOfNodes;
    const capacity: Amounts = {};
    for (const node of this.nodes) {
      if (!node.source.schedulable) continue;
      capacity[GPU] = (capacity[GPU] ?? 0) + node.gpus.length;
      for (const [model, gpus] of node.byModel) capacity[gpuKey(model)] = (capacity[gpuKey(model)] ?? 0) + gpus.length;
      if (node.source.cpus > 0) capacity[CPU] = (capacity[CPU] ?? 0) + node.source.cpus;
      if (node.source.memoryMiB > 0) capacity[MEMORY] = (capacity[MEMORY] ?? 0) + node.source.memoryMiB;
    }
    return (this.capacityOfNodes = capacity);
  }

  /** Nodes grouped by their value of `label` (`node`: one group per node); nodes without it are left out. */
  domains(label: string): Map<string, NodeState[]> {
    let domains = this.domainsByLabel.get(label);
    if (domains) return domains;
    domains = new Map();
    for (const node of this.nodes) {
      const value = node.label(label);
      if (value === undefined) continue;
      const list = domains.get(value) ?? [];
      list.push(node);
      domains.set(value, list);
    }
    this.domainsByLabel.set(label, domains);
    return domains;
  }

  /** Returns what stops the watcher being told. */
  watch(watcher: (node: NodeState) => void): () => void {
    this.watchers.push(watcher);
    return () => {
      const at = this.watchers.indexOf(watcher);
      if (at >= 0) this.watchers.splice(at, 1);
    };
  }

  /**
   * Readies the fleet for the next cycle (carry.ts): forgets the last cycle's index, which is built
   * again, in node order, once what runs has been applied. Watchers stay: they are the carry's.
   */
  reuse(): void {
    this.indexed = false;
    this.buckets.clear();
    this.partial.clear();
  }

  /** Puts a node back as its snapshot has it, holding nothing, for a reused fleet to apply what runs there again. */
  resetNode(node: NodeState): void {
    node.version += 1;
    this.version += 1;
    for (const watcher of this.watchers) watcher(node);
    node.clear();
  }

  setSchedulable(node: NodeState, schedulable: boolean): void {
    if (node.schedulable === schedulable) return;
    node.schedulable = schedulable;
    this.version += 1;
    for (const watcher of this.watchers) watcher(node);
    for (const [model, free] of node.freeWhole) {
      const partial = this.partial.get(model);
      if (schedulable) {
        this.bucket(model, free).add(node);
        if (node.hasPartialGpu(model)) partial?.add(node);
      } else {
        this.bucket(model, free).delete(node);
        partial?.delete(node);
      }
    }
  }

  /**
   * Takes (sign 1) or gives back (sign −1) what `allocation` holds, keeping the index true; `endAt`
   * is when its holder's time limit runs out, for backfill.
   */
  apply(allocation: ReplicaAllocation, sign: 1 | -1, endAt: number): void {
    const node = this.byId.get(allocation.nodeId);
    if (node) this.applyTo(node, allocation, sign, endAt);
  }

  /** `apply` for a caller that already has the node. */
  applyTo(node: NodeState, allocation: ReplicaAllocation, sign: 1 | -1, endAt: number): void {
    if (Number.isFinite(endAt)) this.timeLimited += sign;
    node.version += 1;
    this.version += 1;
    for (const watcher of this.watchers) watcher(node);
    node.cpuFree -= sign * allocation.cpus;
    node.memFree -= sign * allocation.memoryMiB;
    if (allocation.gpuModel === null) return;
    const model = allocation.gpuModel;
    const before = node.freeWhole.get(model) ?? 0;
    const share = sign * (allocation.gpuFraction ?? 1);
    const limited = Number.isFinite(endAt);
    let after = before;
    for (const index of allocation.gpuIndices) {
      const gpu = node.byIndex[index];
      if (!gpu) continue;
      const wasFree = gpu.used <= EPSILON;
      gpu.used += share;
      if (!limited) gpu.unlimited += sign;
      else if (sign === 1) (gpu.ends ??= []).push(endAt);
      else {
        const at = gpu.ends?.indexOf(endAt) ?? -1;
        if (at >= 0) gpu.ends!.splice(at, 1);
      }
      if (Math.abs(gpu.used) <= EPSILON) gpu.used = 0;
      const isFree = gpu.used <= EPSILON;
      if (wasFree !== isFree) after += isFree ? 1 : -1;
    }
    // Every running workload passes here each cycle: the map is written once, not once per GPU.
    if (after !== before) node.freeWhole.set(model, after);
    if (!node.schedulable || !this.indexed) return;
    if (after !== before) {
      this.bucket(model, before).delete(node);
      this.bucket(model, after).add(node);
    }
    // Whole GPUs never make or unmake a shared one.
    if (allocation.gpuFraction === null) return;
    let partial = this.partial.get(model);
    if (!partial) this.partial.set(model, (partial = new Set()));
    if (node.hasPartialGpu(model)) partial.add(node);
    else partial.delete(node);
  }
}
