/**
 * Arrival compression to a target offered load.
 *
 * offered load = Σ(gpus × duration) / (capacity × span), span = last submit − first submit.
 * Multiplying every submit time by f (relative to the first) multiplies the span by f and divides
 * the load by f, so f = current load / target load. f < 1 compresses arrivals (more load), f > 1
 * stretches them. Durations and GPU counts are never changed.
 */
export interface LoadJob {
  submitTime: number;
  duration: number;
  gpus: number;
}

export function offeredLoad(jobs: readonly LoadJob[], capacity: number): number {
  if (jobs.length === 0) return 0;
  let first = Infinity;
  let last = -Infinity;
  let work = 0;
  for (const j of jobs) {
    first = Math.min(first, j.submitTime);
    last = Math.max(last, j.submitTime);
    work += j.gpus * j.duration;
  }
  const span = last - first;
  if (span <= 0) return Infinity;
  return work / (capacity * span);
}

export function compressionFactor(jobs: readonly LoadJob[], capacity: number, targetLoad: number): number {
  if (!(targetLoad > 0)) throw new Error(`target load must be > 0, got ${targetLoad}`);
  const load = offeredLoad(jobs, capacity);
  if (!Number.isFinite(load) || load === 0) throw new Error('offered load is not finite and positive: cannot compress');
  return load / targetLoad;
}

/** Jobs with submit times scaled by `factor` around the first submit time; everything else kept. */
export function compressArrivals<T extends LoadJob>(jobs: readonly T[], factor: number): T[] {
  if (!(factor > 0)) throw new Error(`factor must be > 0, got ${factor}`);
  const first = jobs.reduce((m, j) => Math.min(m, j.submitTime), Infinity);
  return jobs.map((j) => ({ ...j, submitTime: first + (j.submitTime - first) * factor }));
}
