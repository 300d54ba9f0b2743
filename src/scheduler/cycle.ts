import { FleetState, type NodeState } from './fleet.js';
import { bucketScorer, Placer, type PlacementScorer } from './placement.js';
import { QueueTree, type QueueState } from './queue-tree.js';
import { CPU, EPSILON, GPU, MEMORY, accepts, addAmounts, allocationAmounts, asksForGpus, gpuKey, gpuShare, type Amounts } from './resources.js';
import type { PendingWorkload, Plan, RunningWorkload, SchedulerConfig, Snapshot } from './types.js';
import { emptyPlan } from './types.js';

export interface RunningState {
  source: RunningWorkload;
  queue: QueueState | null;
  amounts: Amounts;
  endAt: number;
  /** Chosen this cycle as a victim or to move: not chosen again. */
  evicted: boolean;
}

/** A pending workload and what the cycle learned about it, for its explanation. */
export interface PendingState {
  source: PendingWorkload;
  queue: QueueState | null;
  placed: boolean;
  /** Did not fit for want of room (as opposed to a quota). */
  roomBlocked: boolean;
  limit: string[];
  waiting: string[];
  room: string[];
  notes: string[];
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
  readonly releasing: RunningState[];
  /** Those that may be stopped at all: preemptible, not already stopping, past the minimum runtime. */
  readonly movable: RunningState[];
  readonly movableSet: Set<RunningState>;
  /** Running workloads with an allocation on each node (a gang appears on each of its nodes). */
  readonly holders = new Map<string, RunningState[]>();
  readonly pending: PendingState[];
  readonly capacity: Amounts = {};
  readonly plan: Plan = emptyPlan();
  /** Pending workloads in the order the allocate action considered them. */
  readonly order: PendingState[] = [];
  readonly hasLending: boolean;

  constructor(
    snapshot: Snapshot,
    readonly config: SchedulerConfig,
    readonly now: number,
    scorer: PlacementScorer = bucketScorer,
  ) {
    this.fleet = new FleetState(snapshot.nodes, config);
    this.tree = new QueueTree(snapshot.queues);
    this.placer = new Placer(this.fleet, scorer, now);
    this.hasLending = snapshot.queues.some((q) => q.quotas.some((quota) => quota.lendingLimit !== null));

    const charges = new Map<QueueState, Amounts>();
    this.running = snapshot.running.map((source) => this.admitRunning(source, charges));
    // One charge per queue rather than per workload: each walks the queue's ancestors.
    for (const [queue, amounts] of charges) this.tree.charge(queue, amounts);
    this.releasing = this.running.filter((r) => r.source.releasing);
    this.movable = this.running.filter(
      (r) => !r.source.releasing && r.source.preemptible && now - r.source.startedAt >= config.minRuntimeMs,
    );
    this.movableSet = new Set(this.movable);
    this.pending = snapshot.pending.map((source) => ({
      source,
      queue: this.tree.queues.get(source.queueId) ?? null,
      placed: false,
      roomBlocked: false,
      limit: [],
      waiting: [],
      room: [],
      notes: [],
    }));
    for (const p of this.pending) if (p.queue) this.tree.addDemand(p.queue, this.demandOf(p.source));
    for (const q of this.tree.queues.values()) addAmounts(q.demand, q.usage);

    for (const node of this.fleet.nodes) {
      if (!node.schedulable) continue;
      this.capacity[GPU] = (this.capacity[GPU] ?? 0) + node.gpus.length;
      for (const [model, gpus] of node.byModel) this.capacity[gpuKey(model)] = (this.capacity[gpuKey(model)] ?? 0) + gpus.length;
      if (Number.isFinite(node.cpuFree)) this.capacity[CPU] = (this.capacity[CPU] ?? 0) + node.source.cpus;
      if (Number.isFinite(node.memFree)) this.capacity[MEMORY] = (this.capacity[MEMORY] ?? 0) + node.source.memoryMiB;
    }
    this.tree.computeFairShares(this.capacity, config.usageWeight);
  }

  private admitRunning(source: RunningWorkload, charges: Map<QueueState, Amounts>): RunningState {
    const queue = this.tree.queues.get(source.queueId) ?? null;
    const amounts: Amounts = {};
    const endAt = source.timeLimitMs === null ? Infinity : source.startedAt + source.timeLimitMs;
    for (const allocation of source.allocations) {
      this.fleet.apply(allocation, 1, source.releasing ? this.now : endAt);
      addAmounts(amounts, allocationAmounts(allocation));
    }
    const state: RunningState = { source, queue, amounts, endAt: source.releasing ? this.now : endAt, evicted: false };
    // What is already being released no longer counts for its queue: it will not be reclaimed twice.
    if (queue && !source.releasing) {
      let total = charges.get(queue);
      if (!total) charges.set(queue, (total = {}));
      addAmounts(total, amounts);
    }
    const nodeIds = source.allocations.length === 1 ? [source.allocations[0]!.nodeId] : new Set(source.allocations.map((a) => a.nodeId));
    for (const nodeId of nodeIds) {
      const list = this.holders.get(nodeId) ?? [];
      list.push(state);
      this.holders.set(nodeId, list);
    }
    return state;
  }

  /** What a pending workload would add to its queue's demand, on every model it accepts. */
  private demandOf(workload: PendingWorkload): Amounts {
    const amounts: Amounts = {};
    const { request, replicas } = workload;
    if (asksForGpus(request)) {
      const models = this.fleet.models.filter((m) => accepts(workload, m));
      const share = Math.max(0, ...models.map((m) => Math.min(1, gpuShare(request, this.fleet.memoryOfModel.get(m) ?? 0))), request.gpus);
      amounts[GPU] = share * replicas;
      for (const m of models) amounts[gpuKey(m)] = share * replicas;
    }
    if (request.cpus > 0) amounts[CPU] = request.cpus * replicas;
    if (request.memoryMiB > 0) amounts[MEMORY] = request.memoryMiB * replicas;
    return amounts;
  }

  /** Models a workload may run on, in fleet order; [null] when it asks for no GPU. */
  modelsFor(workload: PendingWorkload): (string | null)[] {
    if (!asksForGpus(workload.request)) return [null];
    return this.fleet.models.filter((m) => accepts(workload, m));
  }

  memoryOf(model: string | null): number {
    return model === null ? 0 : (this.fleet.memoryOfModel.get(model) ?? 0);
  }

  holdersOn(node: NodeState): RunningState[] {
    return this.holders.get(node.id) ?? [];
  }

  /** Gives back, or takes again, what a running workload holds on the nodes (not its queue's usage). */
  occupy(r: RunningState, sign: 1 | -1): void {
    for (const allocation of r.source.allocations) this.fleet.apply(allocation, sign, r.endAt);
  }
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
