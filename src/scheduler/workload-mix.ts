import { Recall } from './recall.js';
import type { ReplicaRequest } from './types.js';

/** One replica shape the scheduler has seen: what it asks for, the models it accepts, how many replicas. */
export interface Shape {
  request: ReplicaRequest;
  gpuModels: readonly string[] | null;
  count: number;
}

/** What the mix reads of a workload. */
interface Seen {
  readonly request: ReplicaRequest;
  readonly gpuModels: readonly string[] | null;
  readonly replicas: number;
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

  add(workload: Seen): void {
    const { request, gpuModels, replicas } = workload;
    const shape = shapeIn(this.shapes, request, gpuModels, () => ({ request, gpuModels, count: 0 }));
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

/** Replicas of one shape: what a workload adds to a mix, shared by the workloads alike. */
interface Part {
  shape: KnownShape;
  replicas: number;
}

interface KnownShape {
  request: ReplicaRequest;
  gpuModels: readonly string[] | null;
  parts: Map<number, Part>;
  /** Its number among the shapes the learner knows. */
  index: number;
}

/** Past this many shapes known, the learner forgets them all (a fleet has few; this bounds a long run's memory). */
const SHAPE_LIMIT = 4096;

/**
 * Learns the mix of each snapshot in turn for a scorer kept from cycle to cycle: work passed again
 * as the same objects is not read again (`Recall`). Its mix is the one `add` builds from the
 * snapshot's pending then running work: the same shapes in the same order, with the same counts.
 */
export class MixLearner {
  private readonly shapes = new Map<number, KnownShape[]>();
  private known = 0;
  private readonly pending = new Recall<Seen, Part>();
  private readonly running = new Recall<Seen, Part>();
  private readonly derive = (w: Seen) => this.partOf(w);

  mixOf(snapshot: { pending: readonly Seen[]; running: readonly Seen[] }): WorkloadMix {
    if (this.known > SHAPE_LIMIT) {
      this.shapes.clear();
      this.known = 0;
      this.pending.clear();
      this.running.clear();
    }
    // Shapes in the order first seen, with their replicas: the order `add` would meet them in.
    const lists = [this.pending.of(snapshot.pending, this.derive), this.running.of(snapshot.running, this.derive)];
    const counts = new Float64Array(this.known);
    const seen = new Uint8Array(this.known);
    const order: KnownShape[] = [];
    for (const parts of lists) {
      for (const { shape, replicas } of parts) {
        if (seen[shape.index] === 0) {
          seen[shape.index] = 1;
          order.push(shape);
        }
        counts[shape.index]! += replicas;
      }
    }
    const mix = new WorkloadMix();
    for (const shape of order) mix.add({ request: shape.request, gpuModels: shape.gpuModels, replicas: counts[shape.index]! });
    return mix;
  }

  private partOf({ request, gpuModels, replicas }: Seen): Part {
    const shape = shapeIn(this.shapes, request, gpuModels, () => ({ request, gpuModels, parts: new Map(), index: this.known++ }));
    let part = shape.parts.get(replicas);
    if (!part) shape.parts.set(replicas, (part = { shape, replicas }));
    return part;
  }
}

/**
 * The shape of `shapes` alike to `request` on `gpuModels`, `made` and added if none is. Every
 * workload of a snapshot is placed in a mix each cycle: a number picks a short list, compared
 * field by field, with no key string built.
 */
function shapeIn<S extends Pick<Shape, 'request' | 'gpuModels'>>(shapes: Map<number, S[]>, request: ReplicaRequest, gpuModels: readonly string[] | null, made: () => S): S {
  const key = request.memoryMiB * 4096 + request.cpus * 64 + request.gpus;
  let alike = shapes.get(key);
  if (!alike) shapes.set(key, (alike = []));
  let shape = alike.find((s) => sameShape(s, request, gpuModels));
  if (!shape) alike.push((shape = made()));
  return shape;
}

function sameShape(shape: Pick<Shape, 'request' | 'gpuModels'>, request: ReplicaRequest, gpuModels: readonly string[] | null): boolean {
  const r = shape.request;
  if (r.gpus !== request.gpus || r.gpuFraction !== request.gpuFraction || r.gpuMemoryMiB !== request.gpuMemoryMiB || r.cpus !== request.cpus || r.memoryMiB !== request.memoryMiB) return false;
  const models = shape.gpuModels;
  if (models === gpuModels) return true;
  return models !== null && gpuModels !== null && models.length === gpuModels.length && models.every((m, i) => m === gpuModels[i]);
}
