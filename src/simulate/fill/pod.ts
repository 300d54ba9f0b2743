import type { TraceJob } from '../traces/index.js';

/** Thousandths of one GPU: fractional shares are counted in these, as the trace does. */
export const WHOLE_GPU_MILLI = 1000;

/** A pod as the fill simulator sees it: integers where the trace has them, the model list resolved later. */
export interface FillPod {
  id: string;
  /** GPUs the pod occupies: 0 (CPU only), 1 for a share of one GPU, or N whole GPUs. */
  gpuCount: number;
  /** Milli-GPU taken on each of those GPUs: below 1000 for a shared GPU, 1000 for whole ones. */
  gpuMilli: number;
  cpuMilli: number;
  memoryMiB: number;
  /** GPU models the pod may use; null for any. */
  gpuModels: readonly string[] | null;
}

/** The pod's GPU demand in milli-GPU: what "arrived" counts toward cluster capacity. */
export function gpuDemandMilli(pod: FillPod): number {
  return pod.gpuCount * pod.gpuMilli;
}

export function fillPodFromJob(job: TraceJob): FillPod {
  const common = { id: job.id, cpuMilli: job.cpuMilli ?? 0, memoryMiB: job.memoryMiB ?? 0, gpuModels: job.gpuModels };
  // gpuFraction came from an integer gpu_milli / 1000; rounding undoes the float division.
  if (job.gpuFraction !== null) return { ...common, gpuCount: 1, gpuMilli: Math.round(job.gpuFraction * WHOLE_GPU_MILLI) };
  return { ...common, gpuCount: job.gpus, gpuMilli: job.gpus > 0 ? WHOLE_GPU_MILLI : 0 };
}
