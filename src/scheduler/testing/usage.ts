/**
 * An independent, deliberately simple model of what a cluster holds, for tests: which GPUs are
 * held whole or in shares, how many cores and MiB are taken on each node, and whether a workload
 * (with its replicas, models, fractions and topology) still fits. It shares no code with the
 * scheduler, so the plan checker and the generators judge the scheduler from the outside.
 */
import type { ReplicaAllocation, SnapshotNode, WorkloadBase } from '../types.js';

export const EPS = 1e-9;

export interface GpuState {
  index: number;
  model: string;
  memoryMiB: number;
  /** How many allocations hold this GPU whole (more than one is over-allocation). */
  whole: number;
  /** Sum of the fractional shares held on this GPU. */
  share: number;
  /** Who holds it (workload ids), for messages. */
  holders: string[];
}

export interface NodeState {
  node: SnapshotNode;
  gpus: Map<number, GpuState>;
  cpus: number;
  memoryMiB: number;
}

export type Usage = Map<string, NodeState>;

export function emptyUsage(nodes: readonly SnapshotNode[]): Usage {
  const usage: Usage = new Map();
  for (const node of nodes) {
    const gpus = new Map<number, GpuState>();
    for (const gpu of node.gpus) gpus.set(gpu.index, { index: gpu.index, model: gpu.model, memoryMiB: gpu.memoryMiB, whole: 0, share: 0, holders: [] });
    usage.set(node.id, { node, gpus, cpus: 0, memoryMiB: 0 });
  }
  return usage;
}

export function cloneUsage(usage: Usage): Usage {
  const copy: Usage = new Map();
  for (const [id, state] of usage) {
    const gpus = new Map<number, GpuState>();
    for (const [index, gpu] of state.gpus) gpus.set(index, { ...gpu, holders: [...gpu.holders] });
    copy.set(id, { node: state.node, gpus, cpus: state.cpus, memoryMiB: state.memoryMiB });
  }
  return copy;
}

/** Adds one allocation; unknown nodes and GPUs are ignored here (the checker reports them). */
export function addAllocation(usage: Usage, holder: string, alloc: ReplicaAllocation): void {
  const state = usage.get(alloc.nodeId);
  if (!state) return;
  state.cpus += alloc.cpus;
  state.memoryMiB += alloc.memoryMiB;
  for (const index of alloc.gpuIndices) {
    const gpu = state.gpus.get(index);
    if (!gpu) continue;
    if (alloc.gpuFraction !== null) gpu.share += alloc.gpuFraction;
    else gpu.whole += 1;
    gpu.holders.push(holder);
  }
}

export function removeAllocation(usage: Usage, holder: string, alloc: ReplicaAllocation): void {
  const state = usage.get(alloc.nodeId);
  if (!state) return;
  state.cpus -= alloc.cpus;
  state.memoryMiB -= alloc.memoryMiB;
  for (const index of alloc.gpuIndices) {
    const gpu = state.gpus.get(index);
    if (!gpu) continue;
    if (alloc.gpuFraction !== null) gpu.share -= alloc.gpuFraction;
    else gpu.whole -= 1;
    const at = gpu.holders.indexOf(holder);
    if (at >= 0) gpu.holders.splice(at, 1);
  }
}

export function isFractional(w: WorkloadBase): boolean {
  return w.request.gpuFraction !== null || w.request.gpuMemoryMiB !== null;
}

export function modelAccepted(w: WorkloadBase, model: string): boolean {
  return w.gpuModels === null || w.gpuModels.includes(model);
}

/** The share of `gpu` one replica of `w` needs, or null when it cannot use that GPU at all. */
export function shareOn(w: WorkloadBase, gpu: { model: string; memoryMiB: number }): number | null {
  if (!modelAccepted(w, gpu.model)) return null;
  if (w.request.gpuFraction !== null) return w.request.gpuFraction;
  if (w.request.gpuMemoryMiB !== null) {
    if (gpu.memoryMiB <= 0) return null;
    const f = w.request.gpuMemoryMiB / gpu.memoryMiB;
    return f <= 1 + EPS ? Math.min(f, 1) : null;
  }
  return null;
}

/** How many replicas of `w` the free part of one node can still take (identical replicas). */
export function replicaCapacity(w: WorkloadBase, state: NodeState): number {
  const { node } = state;
  let cap = Number.POSITIVE_INFINITY;
  if (node.cpus > 0 && w.request.cpus > 0) cap = Math.min(cap, Math.floor((node.cpus - state.cpus + EPS) / w.request.cpus));
  if (node.memoryMiB > 0 && w.request.memoryMiB > 0) {
    cap = Math.min(cap, Math.floor((node.memoryMiB - state.memoryMiB + EPS) / w.request.memoryMiB));
  }
  if (isFractional(w)) {
    let n = 0;
    for (const gpu of state.gpus.values()) {
      if (gpu.whole > 0) continue;
      const f = shareOn(w, gpu);
      if (f === null || f <= 0) continue;
      n += Math.floor((1 - gpu.share + EPS) / f);
    }
    cap = Math.min(cap, n);
  } else if (w.request.gpus > 0) {
    const freeByModel = new Map<string, number>();
    for (const gpu of state.gpus.values()) {
      if (gpu.whole > 0 || gpu.share > EPS || !modelAccepted(w, gpu.model)) continue;
      freeByModel.set(gpu.model, (freeByModel.get(gpu.model) ?? 0) + 1);
    }
    let n = 0;
    for (const free of freeByModel.values()) n += Math.floor(free / w.request.gpus);
    cap = Math.min(cap, n);
  }
  return Math.max(0, cap);
}

/** Node groups a workload's replicas may spread over: one per value of the required label. */
export function topologyGroups(w: WorkloadBase, nodes: readonly SnapshotNode[]): SnapshotNode[][] {
  const key = w.topology.required;
  if (key === null) return [[...nodes]];
  const groups = new Map<string, SnapshotNode[]>();
  for (const node of nodes) {
    const value = key === 'node' ? node.id : node.labels[key];
    if (value === undefined) continue;
    const list = groups.get(value) ?? [];
    list.push(node);
    groups.set(value, list);
  }
  return [...groups.values()];
}

/**
 * Whether all replicas of `w` fit, now, into the free part of `nodes` (schedulability is the
 * caller's). With `sameModel`, all replicas of a gang must use one GPU model (stricter); without,
 * replicas may mix models (more lenient).
 */
export function fits(w: WorkloadBase, nodes: readonly SnapshotNode[], usage: Usage, options: { sameModel?: boolean } = {}): boolean {
  const usesGpus = isFractional(w) || w.request.gpus > 0;
  if (options.sameModel && usesGpus) {
    const models = new Set<string>();
    for (const node of nodes) for (const gpu of node.gpus) if (modelAccepted(w, gpu.model)) models.add(gpu.model);
    return [...models].some((model) => fits({ ...w, gpuModels: [model] }, nodes, usage));
  }
  for (const group of topologyGroups(w, nodes)) {
    let total = 0;
    for (const node of group) {
      const state = usage.get(node.id);
      if (!state) continue;
      total += replicaCapacity(w, state);
      if (total >= w.replicas) return true;
    }
  }
  return false;
}

/**
 * Places all replicas of `w` first-fit over `nodes` in the given order (used to build consistent
 * running workloads in generators and scenario files). Commits into `usage` only on success.
 */
export function allocateGreedy(
  w: WorkloadBase,
  nodes: readonly SnapshotNode[],
  usage: Usage,
  holder = w.id,
): ReplicaAllocation[] | null {
  for (const group of topologyGroups(w, nodes)) {
    const trial = cloneUsage(usage);
    const allocations: ReplicaAllocation[] = [];
    for (let r = 0; r < w.replicas; r++) {
      let placed: ReplicaAllocation | null = null;
      for (const node of group) {
        const state = trial.get(node.id);
        if (!state || replicaCapacity(w, state) < 1) continue;
        placed = allocateOnNode(w, state);
        if (placed) break;
      }
      if (!placed) break;
      addAllocation(trial, holder, placed);
      allocations.push(placed);
    }
    if (allocations.length === w.replicas) {
      for (const a of allocations) addAllocation(usage, holder, a);
      return allocations;
    }
  }
  return null;
}

/** One replica on one node, lowest GPU indices first; null when it does not fit there. */
export function allocateOnNode(w: WorkloadBase, state: NodeState): ReplicaAllocation | null {
  if (replicaCapacity(w, state) < 1) return null;
  const base = { nodeId: state.node.id, cpus: w.request.cpus, memoryMiB: w.request.memoryMiB };
  const gpus = [...state.gpus.values()].sort((a, b) => a.index - b.index);
  if (isFractional(w)) {
    for (const gpu of gpus) {
      if (gpu.whole > 0) continue;
      const f = shareOn(w, gpu);
      if (f === null || gpu.share + f > 1 + EPS) continue;
      return { ...base, gpuIndices: [gpu.index], gpuFraction: f, gpuModel: gpu.model };
    }
    return null;
  }
  if (w.request.gpus <= 0) return { ...base, gpuIndices: [], gpuFraction: null, gpuModel: null };
  const byModel = new Map<string, number[]>();
  for (const gpu of gpus) {
    if (gpu.whole > 0 || gpu.share > EPS || !modelAccepted(w, gpu.model)) continue;
    const list = byModel.get(gpu.model) ?? [];
    list.push(gpu.index);
    byModel.set(gpu.model, list);
  }
  for (const [model, free] of byModel) {
    if (free.length >= w.request.gpus) return { ...base, gpuIndices: free.slice(0, w.request.gpus), gpuFraction: null, gpuModel: model };
  }
  return null;
}

/** What one allocation charges to its queue, by resource key. */
export function allocationCharge(alloc: ReplicaAllocation): Map<string, number> {
  const charge = new Map<string, number>();
  const add = (key: string, amount: number) => {
    if (amount !== 0) charge.set(key, (charge.get(key) ?? 0) + amount);
  };
  if (alloc.gpuIndices.length > 0) {
    const amount = alloc.gpuFraction ?? alloc.gpuIndices.length;
    add('gpu', amount);
    if (alloc.gpuModel !== null) add(`gpu/${alloc.gpuModel}`, amount);
  }
  add('cpu', alloc.cpus);
  add('memory', alloc.memoryMiB);
  return charge;
}

export function workloadCharge(allocations: readonly ReplicaAllocation[]): Map<string, number> {
  const total = new Map<string, number>();
  for (const a of allocations) for (const [k, v] of allocationCharge(a)) total.set(k, (total.get(k) ?? 0) + v);
  return total;
}
