import type { ReplayMetrics } from '../replay/metrics.js';

/** What `gpufleet simulate replay` reports (`-o json` prints it as is). */
export interface ReplayReport {
  kind: 'replay';
  trace: { format: string; path: string; jobs: number; badRows: string[] };
  cluster: { source: string; nodes: number; gpus: number; queues: string[] };
  jobs: { replayed: number; oversize: number; oversizeMode: 'drop' | 'cap'; zeroGpu: number };
  offeredLoad: number;
  compressionFactor: number;
  checkpointSeconds: number | null;
  /** Time limits assumed for jobs that declare none (runtime × factor, rounded up); null: none assumed. */
  declaredLimits: { factor: number; roundUpSeconds: number } | null;
  runs: Array<{ policy: string; seconds: number; schedulerCalls: number; metrics: ReplayMetrics }>;
}

/** What `gpufleet simulate fill` reports: per policy and seed, the allocated GPU % after each 1 % arrived (0..130). */
export interface FillReport {
  kind: 'fill';
  trace: { format: string; path: string; pods: number; badRows: string[] };
  cluster: { source: string; nodes: number; gpus: number };
  runs: Array<{
    policy: string;
    /** The placement it runs (`gpufleet-default` names the configured one). */
    placement: string;
    seeds: Array<{ seed: number; seconds: number; allocatedPct: number[]; submitted: number; placed: number; unplaced: number }>;
  }>;
}
