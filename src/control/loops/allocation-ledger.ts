import type { QueueQuota, ReplicaAllocation, ReplicaRequest, ResourceKey, TopologyRequest } from '../../scheduler/types.js';
import { addAmounts, allocationAmounts } from '../../scheduler/resources.js';

/**
 * What the fleet holds right now, for the plan applier to re-check each placement against fresh
 * state before committing it. It trusts nothing in the plan: GPUs must exist with the right model
 * and be free (whole GPUs held by nobody, shares of one GPU summing to at most 1), the node must be
 * ready with cores and memory to spare, and the queue and its ancestors stay within their limits.
 * It deliberately shares no code with the scheduler's own accounting, so a bug there is caught here.
 */

export interface LedgerNode {
  id: string;
  ready: boolean;
  labels: Record<string, string>;
  /** 0: the node did not say, and then cores do not constrain. */
  cpus: number;
  memoryMiB: number;
  gpus: Array<{ index: number; model: string; memoryMiB: number }>;
}

export interface LedgerQueue {
  id: string;
  name: string;
  parentId: string | null;
  quotas: QueueQuota[];
}

export interface LedgerWorkload {
  queueId: string;
  replicas: number;
  request: ReplicaRequest;
  gpuModels: string[] | null;
  topology: TopologyRequest;
}

// Shares and cores are fractions; sums of them must not fail a check by a rounding error.
const epsilon = 1e-6;

export class AllocationLedger {
  private readonly nodes: Map<string, LedgerNode>;
  private readonly queues: Map<string, LedgerQueue>;
  /** GPUs held whole, by `node/index`. */
  private readonly wholeHeld = new Set<string>();
  /** Sum of the fractional shares of one GPU, by `node/index`. */
  private readonly shares = new Map<string, number>();
  private readonly cpusUsed = new Map<string, number>();
  private readonly memoryUsed = new Map<string, number>();
  /** Use by resource key of each queue together with its descendants: what a limit bounds. */
  private readonly queueTotals = new Map<string, Record<ResourceKey, number>>();

  constructor(nodes: LedgerNode[], queues: LedgerQueue[]) {
    this.nodes = new Map(nodes.map((n) => [n.id, n]));
    this.queues = new Map(queues.map((q) => [q.id, q]));
  }

  /** Charges what an existing replica holds; no checks (it is already there). */
  hold(queueId: string, a: ReplicaAllocation): void {
    this.charge(queueId, a, 1);
  }

  /**
   * Checks a gang's allocations together and charges them if all hold; returns why not otherwise,
   * having charged nothing.
   */
  tryPlace(w: LedgerWorkload, allocations: ReplicaAllocation[]): string | null {
    if (allocations.length !== w.replicas) return `the plan gives ${allocations.length} replicas, the workload has ${w.replicas}`;
    const topology = this.topologyProblem(w.topology.required, allocations);
    if (topology) return topology;
    const charged: ReplicaAllocation[] = [];
    for (const a of allocations) {
      const problem = this.check(w, a);
      if (problem) {
        for (const c of charged) this.charge(w.queueId, c, -1);
        return problem;
      }
      this.charge(w.queueId, a, 1);
      charged.push(a);
    }
    return null;
  }

  private check(w: LedgerWorkload, a: ReplicaAllocation): string | null {
    const node = this.nodes.get(a.nodeId);
    if (!node) return `node ${a.nodeId} does not exist`;
    if (!node.ready) return `node ${a.nodeId} is not ready`;
    const gpuProblem = this.gpuProblem(w, node, a);
    if (gpuProblem) return gpuProblem;
    if (a.cpus + epsilon < w.request.cpus) return `gives ${a.cpus} cores, ${w.request.cpus} asked`;
    if (a.memoryMiB + epsilon < w.request.memoryMiB) return `gives ${a.memoryMiB} MiB, ${w.request.memoryMiB} asked`;
    if (node.cpus > 0 && (this.cpusUsed.get(node.id) ?? 0) + a.cpus > node.cpus + epsilon) return `node ${node.id} has not ${a.cpus} cores free`;
    if (Number(node.memoryMiB) > 0 && (this.memoryUsed.get(node.id) ?? 0) + a.memoryMiB > Number(node.memoryMiB) + epsilon)
      return `node ${node.id} has not ${a.memoryMiB} MiB free`;
    return this.limitProblem(w.queueId, allocationAmounts(a));
  }

  private gpuProblem(w: LedgerWorkload, node: LedgerNode, a: ReplicaAllocation): string | null {
    const r = w.request;
    const fractional = r.gpus === 0 && (r.gpuFraction !== null || r.gpuMemoryMiB !== null);
    if (new Set(a.gpuIndices).size !== a.gpuIndices.length) return 'names a GPU twice';
    if (r.gpus > 0 && (a.gpuFraction !== null || a.gpuIndices.length !== r.gpus)) return `gives ${a.gpuIndices.length} GPUs, ${r.gpus} asked`;
    if (!fractional && r.gpus === 0 && (a.gpuIndices.length > 0 || a.gpuFraction !== null)) return 'gives GPUs to a replica that asked for none';
    if (fractional && (a.gpuIndices.length !== 1 || a.gpuFraction === null || !(a.gpuFraction > 0 && a.gpuFraction <= 1)))
      return 'a share of a GPU must be one GPU and a fraction in (0, 1]';
    for (const index of a.gpuIndices) {
      const gpu = node.gpus.find((g) => g.index === index);
      if (!gpu) return `node ${node.id} has no GPU ${index}`;
      if (a.gpuModel !== gpu.model) return `GPU ${index} of node ${node.id} is a ${gpu.model}, not a ${a.gpuModel ?? 'none'}`;
      if (w.gpuModels !== null && !w.gpuModels.includes(gpu.model)) return `GPU ${index} of node ${node.id} is a ${gpu.model}, not one of ${w.gpuModels.join(', ')}`;
      const key = `${node.id}/${index}`;
      if (this.wholeHeld.has(key)) return `GPU ${index} of node ${node.id} is taken`;
      if (a.gpuFraction === null) {
        if ((this.shares.get(key) ?? 0) > 0) return `GPU ${index} of node ${node.id} is shared by others`;
      } else {
        if ((this.shares.get(key) ?? 0) + a.gpuFraction > 1 + epsilon) return `GPU ${index} of node ${node.id} has not ${a.gpuFraction} of itself free`;
        if (r.gpuFraction !== null && a.gpuFraction + epsilon < r.gpuFraction) return `gives ${a.gpuFraction} of a GPU, ${r.gpuFraction} asked`;
        // Memory rounds to whole MiB, so a share sized by memory may fall short by under one.
        if (r.gpuMemoryMiB !== null && gpu.memoryMiB > 0 && a.gpuFraction * gpu.memoryMiB + 1 < r.gpuMemoryMiB)
          return `gives ${Math.floor(a.gpuFraction * gpu.memoryMiB)} MiB of GPU memory, ${r.gpuMemoryMiB} asked`;
      }
    }
    return null;
  }

  private topologyProblem(required: string | null, allocations: ReplicaAllocation[]): string | null {
    if (required === null || allocations.length === 0) return null;
    const values = allocations.map((a) => (required === 'node' ? a.nodeId : this.nodes.get(a.nodeId)?.labels[required]));
    if (values.some((v) => v === undefined) || new Set(values).size > 1) return `replicas are not all within one ${required}`;
    return null;
  }

  private limitProblem(queueId: string, amounts: Record<ResourceKey, number>): string | null {
    for (const queue of this.lineage(queueId)) {
      const totals = this.queueTotals.get(queue.id) ?? {};
      for (const quota of queue.quotas) {
        const amount = amounts[quota.resource] ?? 0;
        if (quota.limit === null || amount === 0) continue;
        if ((totals[quota.resource] ?? 0) + amount > quota.limit + epsilon)
          return `queue ${queue.name} would pass its limit of ${quota.limit} ${quota.resource}`;
      }
    }
    return null;
  }

  /** The queue and its ancestors; a cycle (which the API refuses) ends the walk. */
  private lineage(queueId: string): LedgerQueue[] {
    const chain: LedgerQueue[] = [];
    const seen = new Set<string>();
    for (let q = this.queues.get(queueId); q && !seen.has(q.id); q = q.parentId === null ? undefined : this.queues.get(q.parentId)) {
      seen.add(q.id);
      chain.push(q);
    }
    return chain;
  }

  private charge(queueId: string, a: ReplicaAllocation, sign: 1 | -1): void {
    for (const index of a.gpuIndices) {
      const key = `${a.nodeId}/${index}`;
      if (a.gpuFraction === null) {
        if (sign > 0) this.wholeHeld.add(key);
        else this.wholeHeld.delete(key);
      } else this.shares.set(key, (this.shares.get(key) ?? 0) + sign * a.gpuFraction);
    }
    this.cpusUsed.set(a.nodeId, (this.cpusUsed.get(a.nodeId) ?? 0) + sign * a.cpus);
    this.memoryUsed.set(a.nodeId, (this.memoryUsed.get(a.nodeId) ?? 0) + sign * a.memoryMiB);
    const amounts = allocationAmounts(a);
    for (const queue of this.lineage(queueId)) {
      const totals = this.queueTotals.get(queue.id) ?? {};
      addAmounts(totals, amounts, sign);
      this.queueTotals.set(queue.id, totals);
    }
  }
}
