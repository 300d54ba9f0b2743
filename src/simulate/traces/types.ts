/** One job (or pod) of a trace, in the units every adapter converts to. */
export interface TraceJob {
  id: string;
  /** 1-based line of the row in its file, so that a later complaint can point at the source. */
  line: number;
  /** Seconds from trace start. */
  submitTime: number;
  /**
   * Seconds the job runs once placed. `Infinity` when the trace carries no end time (OpenB pod
   * lists without timestamps: the paper's protocol never ends a pod).
   */
  duration: number;
  /** Whole GPUs; 0 when the job asks for a fraction of one GPU or for none. */
  gpus: number;
  /** Share of one GPU, 0 < f < 1; null when the job takes whole GPUs or none. */
  gpuFraction: number | null;
  /** GPU models the job may run on; null when any model will do. */
  gpuModels: string[] | null;
  cpuMilli: number | null;
  memoryMiB: number | null;
  queue: string;
  user: string | null;
  priority: number | null;
  /** Seconds after which the job would be killed; null when the trace has none. */
  timeLimit: number | null;
}

/** A job that asks for whole GPUs and nothing else, as the Philly trace records them. */
export function wholeGpuJob(job: Pick<TraceJob, 'id' | 'line' | 'submitTime' | 'duration' | 'gpus' | 'queue'>): TraceJob {
  return { ...job, gpuFraction: null, gpuModels: null, cpuMilli: null, memoryMiB: null, user: null, priority: null, timeLimit: null };
}

export interface ClusterNodeSpec {
  name: string;
  gpus: number;
  gpuModel: string | null;
  cpuMilli: number;
  memoryMiB: number;
  labels: Record<string, string>;
}

export interface ClusterSpec {
  nodes: ClusterNodeSpec[];
}

/** A queue and the GPUs it owns (Philly: a virtual cluster and its size). */
export interface QueueSpec {
  name: string;
  gpus: number;
}

export interface TraceIssue {
  file: string;
  line: number;
  message: string;
}

/** `reject`: any issue makes the load throw a TraceError. `skip`: bad rows are left out and returned as issues. */
export type BadRowPolicy = 'skip' | 'reject';

export interface TraceLoadOptions {
  /** No default: a caller must choose how bad rows are treated. */
  badRows: BadRowPolicy;
}

export interface TraceLoad {
  jobs: TraceJob[];
  queues?: QueueSpec[];
  cluster?: ClusterSpec;
  issues: TraceIssue[];
}

export function formatIssue(issue: TraceIssue): string {
  return `${issue.file}:${issue.line}: ${issue.message}`;
}

const LISTED_ISSUES = 10;

export class TraceError extends Error {
  readonly issues: TraceIssue[];

  constructor(issues: TraceIssue[]) {
    const listed = issues.slice(0, LISTED_ISSUES).map(formatIssue);
    const more = issues.length > LISTED_ISSUES ? [`... and ${issues.length - LISTED_ISSUES} more`] : [];
    super([`${issues.length} bad row(s) in trace input:`, ...listed, ...more].join('\n'));
    this.name = 'TraceError';
    this.issues = issues;
  }
}
