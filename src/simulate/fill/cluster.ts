import type { ClusterSpec } from '../traces/index.js';
import { WHOLE_GPU_MILLI, gpuDemandMilli, type FillPod } from './pod.js';

/**
 * Free capacity of every node and GPU during a fill, in flat typed arrays: a policy looks at every
 * node for every pod, so each feasibility test must be a handful of array reads, never a scan of
 * the node's GPUs.
 */
export class FillCluster {
  readonly nodeCount: number;
  readonly names: readonly string[];
  readonly gpuCount: Int32Array;
  /** One bit per GPU model of this cluster; 0 on CPU-only nodes. */
  readonly modelBit: Int32Array;
  readonly cpuFree: Float64Array;
  readonly memoryFree: Float64Array;
  /** Node n's GPUs are gpuFree[gpuStart[n] .. gpuStart[n] + gpuCount[n]), milli-GPU left on each. */
  readonly gpuStart: Int32Array;
  readonly gpuFree: Int32Array;
  /** Kept up to date on every placement so that a feasibility test never walks the GPUs. */
  readonly fullyFreeGpus: Int32Array;
  readonly maxGpuFree: Int32Array;
  readonly gpuFreeTotal: Int32Array;
  readonly capacityMilli: number;
  private allocated = 0;
  private readonly modelBits: ReadonlyMap<string, number>;

  /** `spec`: the cluster as it is before anything is placed, for a policy that keeps its own view of it. */
  constructor(readonly spec: ClusterSpec) {
    const nodes = spec.nodes;
    const n = nodes.length;
    const models = new Map<string, number>();
    for (const node of nodes) {
      if (node.gpus > 0 && node.gpuModel !== null && !models.has(node.gpuModel)) models.set(node.gpuModel, 1 << models.size);
    }
    // Model constraints are bit masks, one bit per model in a 32-bit integer.
    if (models.size > 30) throw new Error(`fill simulator supports at most 30 GPU models, the cluster has ${models.size}`);
    this.modelBits = models;
    this.nodeCount = n;
    this.names = nodes.map((node) => node.name);
    this.gpuCount = Int32Array.from(nodes, (node) => node.gpus);
    this.modelBit = Int32Array.from(nodes, (node) => (node.gpus > 0 && node.gpuModel !== null ? (models.get(node.gpuModel) ?? 0) : 0));
    this.cpuFree = Float64Array.from(nodes, (node) => node.cpuMilli);
    this.memoryFree = Float64Array.from(nodes, (node) => node.memoryMiB);
    this.gpuStart = new Int32Array(n);
    let total = 0;
    nodes.forEach((node, i) => {
      this.gpuStart[i] = total;
      total += node.gpus;
    });
    this.gpuFree = new Int32Array(total).fill(WHOLE_GPU_MILLI);
    this.fullyFreeGpus = this.gpuCount.slice();
    this.maxGpuFree = Int32Array.from(nodes, (node) => (node.gpus > 0 ? WHOLE_GPU_MILLI : 0));
    this.gpuFreeTotal = Int32Array.from(nodes, (node) => node.gpus * WHOLE_GPU_MILLI);
    this.capacityMilli = total * WHOLE_GPU_MILLI;
  }

  /** Milli-GPU allocated so far (fractions count by their share). */
  get allocatedMilli(): number {
    return this.allocated;
  }

  /** The bit mask of the models a pod accepts; -1 for any, 0 when none of them is in this cluster. */
  modelMask(models: readonly string[] | null): number {
    if (models === null) return -1;
    return models.reduce((mask, model) => mask | (this.modelBits.get(model) ?? 0), 0);
  }

  /**
   * Whether the pod fits on the node now. `modelMask` is `modelMask(pod.gpuModels)`, computed once
   * per pod by the caller. A CPU-only pod's model list is ignored: it uses no GPU (as in the paper's
   * simulator, whose GPU filter passes pods without GPU demand).
   */
  fits(node: number, pod: FillPod, modelMask: number): boolean {
    if (this.cpuFree[node]! < pod.cpuMilli || this.memoryFree[node]! < pod.memoryMiB) return false;
    if (pod.gpuCount === 0) return true;
    if ((this.modelBit[node]! & modelMask) === 0) return false;
    if (pod.gpuMilli < WHOLE_GPU_MILLI) return this.maxGpuFree[node]! >= pod.gpuMilli;
    return this.fullyFreeGpus[node]! >= pod.gpuCount;
  }

  /**
   * The GPUs a pod would take on a node it fits: for a share, the GPU with the least milli-GPU left
   * that still holds it (the paper's simulator's best-fit GPU choice, so shares stack instead of
   * opening fresh GPUs); for whole GPUs, the first fully free ones.
   */
  chooseGpus(node: number, pod: FillPod): number[] {
    if (pod.gpuCount === 0) return [];
    if (pod.gpuMilli < WHOLE_GPU_MILLI) {
      const gpu = this.tightestGpu(node, pod.gpuMilli);
      return gpu < 0 ? [] : [gpu];
    }
    const start = this.gpuStart[node]!;
    const count = this.gpuCount[node]!;
    const gpus: number[] = [];
    for (let g = 0; g < count && gpus.length < pod.gpuCount; g++) {
      if (this.gpuFree[start + g] === WHOLE_GPU_MILLI) gpus.push(g);
    }
    return gpus.length === pod.gpuCount ? gpus : [];
  }

  /** The node's GPU with the least milli-GPU left that still holds `milli`; -1 when none does. */
  tightestGpu(node: number, milli: number): number {
    const start = this.gpuStart[node]!;
    const count = this.gpuCount[node]!;
    let best = -1;
    for (let g = 0; g < count; g++) {
      const left = this.gpuFree[start + g]!;
      if (left >= milli && (best < 0 || left < this.gpuFree[start + best]!)) best = g;
    }
    return best;
  }

  /** Takes the pod's resources; throws rather than over-allocate, so a faulty policy cannot inflate a result. */
  place(node: number, pod: FillPod, gpus: readonly number[]): void {
    const start = this.gpuStart[node]!;
    const count = this.gpuCount[node]!;
    const problem =
      this.cpuFree[node]! < pod.cpuMilli || this.memoryFree[node]! < pod.memoryMiB
        ? 'CPU or memory exceeded'
        : gpus.length !== pod.gpuCount || new Set(gpus).size !== gpus.length
          ? `needs ${pod.gpuCount} distinct GPU(s), got [${gpus.join(', ')}]`
          : gpus.some((g) => !(g >= 0 && g < count) || this.gpuFree[start + g]! < pod.gpuMilli)
            ? `GPU(s) [${gpus.join(', ')}] lack ${pod.gpuMilli} milli-GPU`
            : null;
    if (problem !== null) throw new Error(`cannot place pod ${pod.id} on node ${this.names[node]}: ${problem}`);
    this.cpuFree[node]! -= pod.cpuMilli;
    this.memoryFree[node]! -= pod.memoryMiB;
    for (const g of gpus) this.gpuFree[start + g]! -= pod.gpuMilli;
    let fully = 0;
    let max = 0;
    for (let g = 0; g < count; g++) {
      const left = this.gpuFree[start + g]!;
      if (left === WHOLE_GPU_MILLI) fully += 1;
      if (left > max) max = left;
    }
    this.fullyFreeGpus[node] = fully;
    this.maxGpuFree[node] = max;
    this.gpuFreeTotal[node]! -= gpuDemandMilli(pod);
    this.allocated += gpuDemandMilli(pod);
  }
}
