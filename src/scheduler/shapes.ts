import type { PendingWorkload } from './types.js';

/**
 * Numbers the distinct shapes of a backlog. Workloads of one shape ask for the same things in the
 * same way, so they fit in the same places and weigh the same against quotas: what a cycle learns
 * about one holds for the others. A large backlog has few shapes; hashing the numbers into a bucket
 * and comparing fields against its few members is much cheaper than a string key per workload.
 */
export class ShapeTable {
  /** One workload of each shape, by shape number. */
  readonly exemplars: PendingWorkload[] = [];
  /** Whether workloads of one queue and shape share what allocate found (off only to test that sharing changes nothing). */
  readonly sharesFindings: boolean = true;
  private readonly buckets = new Map<number, number[]>();

  idOf(workload: PendingWorkload): number {
    const bucket = this.bucketOf(workload);
    for (const id of bucket) if (sameShape(this.exemplars[id]!, workload)) return id;
    return this.add(workload, bucket);
  }

  /**
   * Numbers a shape unlike every one this table has numbered, without comparing it with them: a
   * table fed only the distinct shapes another table numbered numbers them as `idOf` would.
   */
  adopt(workload: PendingWorkload): number {
    return this.add(workload, this.bucketOf(workload));
  }

  private bucketOf(workload: PendingWorkload): number[] {
    const hash = hashOf(workload);
    let bucket = this.buckets.get(hash);
    if (!bucket) this.buckets.set(hash, (bucket = []));
    return bucket;
  }

  private add(workload: PendingWorkload, bucket: number[]): number {
    const id = this.exemplars.length;
    this.exemplars.push(workload);
    bucket.push(id);
    return id;
  }
}

/** Only numbers are hashed: labels and model lists take few values, and equal shapes compare them anyway. */
function hashOf(w: PendingWorkload): number {
  const r = w.request;
  let h = Math.imul((r.gpus * 1000) | 0, 0x9e3779b1);
  h = Math.imul(h ^ ((r.gpuFraction ?? -1) * 1e6), 0x85ebca6b);
  h = Math.imul(h ^ (r.gpuMemoryMiB ?? -1), 0xc2b2ae35);
  h = Math.imul(h ^ ((r.cpus * 1000) | 0), 0x27d4eb2f);
  h = Math.imul(h ^ r.memoryMiB, 0x165667b1);
  h = Math.imul(h ^ w.replicas, 0x9e3779b1);
  return h ^ (w.timeLimitMs ?? -1);
}

function sameShape(a: PendingWorkload, b: PendingWorkload): boolean {
  const x = a.request;
  const y = b.request;
  return (
    x.gpus === y.gpus &&
    x.gpuFraction === y.gpuFraction &&
    x.gpuMemoryMiB === y.gpuMemoryMiB &&
    x.cpus === y.cpus &&
    x.memoryMiB === y.memoryMiB &&
    a.replicas === b.replicas &&
    a.timeLimitMs === b.timeLimitMs &&
    a.topology.required === b.topology.required &&
    a.topology.preferred === b.topology.preferred &&
    sameModels(a.gpuModels, b.gpuModels)
  );
}

function sameModels(a: string[] | null, b: string[] | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
