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
  private readonly shapes = new Map<string, Shape>();
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
    const key = `${request.gpus}|${request.gpuFraction}|${request.gpuMemoryMiB}|${request.cpus}|${request.memoryMiB}|${gpuModels?.join('\n') ?? '*'}`;
    let shape = this.shapes.get(key);
    if (!shape) this.shapes.set(key, (shape = { request, gpuModels, count: 0 }));
    shape.count += replicas;
    this.total += replicas;
    if (this.total >= this.totalWhenRead * (1 + GROWTH_TO_REREAD)) {
      this.version += 1;
      this.totalWhenRead = this.total;
    }
  }

  get all(): Iterable<Shape> {
    return this.shapes.values();
  }
}
