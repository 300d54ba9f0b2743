import type { PendingWorkload } from '../types.js';

/** A one-replica job of `gpus` whole GPUs in queue `q`, for unit tests; `more` overrides any field. */
export const job = (id: string, gpus: number, more: Partial<PendingWorkload> = {}): PendingWorkload => ({
  id,
  name: id,
  queueId: 'q',
  priority: 0,
  preemptible: true,
  replicas: 1,
  request: { gpus, gpuFraction: null, gpuMemoryMiB: null, cpus: 0, memoryMiB: 0 },
  gpuModels: null,
  topology: { required: null, preferred: null },
  timeLimitMs: null,
  submittedAt: 0,
  ...more,
});
