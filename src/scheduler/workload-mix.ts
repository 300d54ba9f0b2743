import type { ReplicaRequest, WorkloadBase } from './types.js';

/** One replica shape the scheduler has seen: what it asks for, the models it accepts, how many replicas. */
export interface Shape {
  request: ReplicaRequest;
  gpuModels: readonly string[] | null;
  count: number;
}

/** Re-read the mix once it has grown by this share since it was last read. */
const GROWTH_TO_REREAD = 0.25;

/**
 * The mix of replica shapes the scheduler sees, pending and running: what a fragmentation-aware
 * scorer expects the next work to look like. Nothing about a particular cluster or trace is built
 * in; the mix is learned from the workloads themselves.
 */
export class WorkloadMix {
  /** Shapes by a number of their request: alike shapes share it, and a few unlike ones may. */
  private readonly shapes = new Map<number, Shape[]>();
  total = 0;
  /**
   * Changes when the mix changed enough to be read again (a quarter more replicas than when last read): a
   * scorer caches what it derived from the mix until then, so a mix growing by one replica at a
   * time does not throw the caches away each time.
   */
  version = 0;
  private totalWhenRead = 0;

  add(workload: Pick<WorkloadBase, 'request' | 'gpuModels' | 'replicas'>): void {
    const { request, gpuModels, replicas } = workload;
    // Every workload of a snapshot passes here each cycle: a number picks a short list, compared field by field, with no key string built.
    const key = request.memoryMiB * 4096 + request.cpus * 64 + request.gpus;
    let alike = this.shapes.get(key);
    if (!alike) this.shapes.set(key, (alike = []));
    let shape = alike.find((s) => sameShape(s, request, gpuModels));
    if (!shape) alike.push((shape = { request, gpuModels, count: 0 }));
    shape.count += replicas;
    this.total += replicas;
    if (this.total >= this.totalWhenRead * (1 + GROWTH_TO_REREAD)) {
      this.version += 1;
      this.totalWhenRead = this.total;
    }
  }

  *all(): Iterable<Shape> {
    for (const alike of this.shapes.values()) yield* alike;
  }
}

function sameShape(shape: Shape, request: ReplicaRequest, gpuModels: readonly string[] | null): boolean {
  const r = shape.request;
  if (r.gpus !== request.gpus || r.gpuFraction !== request.gpuFraction || r.gpuMemoryMiB !== request.gpuMemoryMiB || r.cpus !== request.cpus || r.memoryMiB !== request.memoryMiB) return false;
  const models = shape.gpuModels;
  if (models === gpuModels) return true;
  return models !== null && gpuModels !== null && models.length === gpuModels.length && models.every((m, i) => m === gpuModels[i]);
}
