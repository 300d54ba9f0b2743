import type { ReplicaAllocation, ReplicaRequest, ResourceKey, WorkloadBase } from './types.js';

/** Below this, two fractional amounts are equal: shares like 0.1 + 0.2 must not overflow a GPU. */
export const EPSILON = 1e-9;

export const GPU: ResourceKey = 'gpu';
export const CPU: ResourceKey = 'cpu';
export const MEMORY: ResourceKey = 'memory';
const gpuKeys = new Map<string, ResourceKey>();
/** Interned: the key is built for every allocation of every cycle. */
export function gpuKey(model: string): ResourceKey {
  let key = gpuKeys.get(model);
  if (key === undefined) gpuKeys.set(model, (key = `gpu/${model}`));
  return key;
}

/** Amounts by resource key. Small (≤ 4 entries), so a plain object beats a Map here. */
export type Amounts = Record<ResourceKey, number>;

/** The share of one GPU a replica takes on a GPU of `gpuMemoryMiB`; 1 per GPU for whole GPUs. */
export function gpuShare(request: ReplicaRequest, gpuMemoryMiB: number): number {
  if (request.gpuFraction !== null) return request.gpuFraction;
  if (request.gpuMemoryMiB !== null) return gpuMemoryMiB > 0 ? request.gpuMemoryMiB / gpuMemoryMiB : Infinity;
  return request.gpus;
}

export function isFractional(request: ReplicaRequest): boolean {
  return request.gpuFraction !== null || request.gpuMemoryMiB !== null;
}

export function asksForGpus(request: ReplicaRequest): boolean {
  return request.gpus > 0 || isFractional(request);
}

/** What of an allocation its queue is charged for: where it runs does not matter. */
type Held = Pick<ReplicaAllocation, 'gpuIndices' | 'gpuFraction' | 'gpuModel' | 'cpus' | 'memoryMiB'>;

/** Adds what one allocation charges its queue to `into`. */
export function chargeAllocation(into: Amounts, allocation: Held): void {
  if (allocation.gpuModel !== null) {
    const gpus = allocation.gpuFraction ?? allocation.gpuIndices.length;
    const key = gpuKey(allocation.gpuModel);
    into[GPU] = (into[GPU] ?? 0) + gpus;
    into[key] = (into[key] ?? 0) + gpus;
  }
  if (allocation.cpus > 0) into[CPU] = (into[CPU] ?? 0) + allocation.cpus;
  if (allocation.memoryMiB > 0) into[MEMORY] = (into[MEMORY] ?? 0) + allocation.memoryMiB;
}

/** What one allocation charges its queue, on its own. */
export function allocationAmounts(allocation: Held): Amounts {
  const amounts: Amounts = {};
  chargeAllocation(amounts, allocation);
  return amounts;
}

/** What a whole workload would charge on `model`, whose GPUs have `gpuMemoryMiB`. */
export function workloadAmounts(workload: WorkloadBase, model: string | null, gpuMemoryMiB: number): Amounts {
  const { request, replicas } = workload;
  const amounts: Amounts = {};
  if (model !== null && asksForGpus(request)) {
    const gpus = gpuShare(request, gpuMemoryMiB) * replicas;
    amounts[GPU] = gpus;
    amounts[gpuKey(model)] = gpus;
  }
  if (request.cpus > 0) amounts[CPU] = request.cpus * replicas;
  if (request.memoryMiB > 0) amounts[MEMORY] = request.memoryMiB * replicas;
  return amounts;
}

export function addAmounts(into: Amounts, add: Amounts, sign = 1): void {
  for (const key in add) into[key] = (into[key] ?? 0) + sign * add[key]!;
}

export function accepts(workload: WorkloadBase, model: string): boolean {
  return workload.gpuModels === null || workload.gpuModels.includes(model);
}

/** How a request reads in a reason: "8 GPUs", "0.5 of a GPU", "20480 MiB of GPU memory". */
export function describeRequest(request: ReplicaRequest): string {
  if (request.gpuFraction !== null) return `${request.gpuFraction} of a GPU`;
  if (request.gpuMemoryMiB !== null) return `${request.gpuMemoryMiB} MiB of GPU memory`;
  return `${request.gpus} GPU${request.gpus === 1 ? '' : 's'}`;
}

export function formatAmount(key: ResourceKey, amount: number): string {
  const rounded = Math.round(amount * 100) / 100;
  if (key === CPU) return `${rounded} CPUs`;
  if (key === MEMORY) return `${Math.round(amount)} MiB of memory`;
  if (key === GPU) return `${rounded} GPUs`;
  return `${rounded} ${key.slice(4)} GPUs`;
}
