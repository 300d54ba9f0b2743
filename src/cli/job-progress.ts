import type { Workload } from '../core/api-types.js';
import type { WorkloadState } from '../core/workload-state.js';
import { formatDuration } from './output.js';

/**
 * Renders a job's life as one growing line: `hello  pending → admitted → running (node a, GPUs 0,1)
 * → succeeded in 1.2s`. Polling can miss short states, so the timestamps fill in an admission or a
 * start the job went through between two polls.
 */
export class JobProgress {
  private last: WorkloadState | null = null;

  constructor(private readonly nodeNames: ReadonlyMap<string, string>) {}

  /** The text to append for this snapshot; empty when nothing changed. */
  update(w: Workload): string {
    if (this.last === null) {
      this.last = w.state;
      return `${w.name}  ${describeState(w, w.state, this.nodeNames)}`;
    }
    if (w.state === this.last) return '';
    const steps: WorkloadState[] = [];
    const movedOn = w.state !== 'pending' && w.state !== 'admitted';
    if (this.last === 'pending' && w.state !== 'admitted' && w.admittedAt !== null) steps.push('admitted');
    if ((this.last === 'pending' || this.last === 'admitted') && movedOn && w.state !== 'running' && w.startedAt !== null)
      steps.push('running');
    steps.push(w.state);
    this.last = w.state;
    return steps.map((s) => ` → ${describeState(w, s, this.nodeNames)}`).join('');
  }
}

function describeState(w: Workload, state: WorkloadState, nodeNames: ReadonlyMap<string, string>): string {
  const reason = w.reason ? ` (${w.reason})` : '';
  const ranFor = w.finishedAt ? ` in ${formatDuration(Date.parse(w.finishedAt) - Date.parse(w.startedAt ?? w.createdAt))}` : '';
  switch (state) {
    case 'running': {
      if (w.node === null) return 'running';
      const gpus = w.gpuIndices.length > 0 ? `, GPUs ${w.gpuIndices.join(',')}` : '';
      return `running (node ${nodeNames.get(w.node) ?? w.node}${gpus})`;
    }
    case 'succeeded':
      return `succeeded${ranFor}`;
    case 'failed':
      return `failed${w.exitCode !== null ? ` (exit ${w.exitCode})` : reason}${ranFor}`;
    case 'cancelled':
    case 'preempted':
      return `${state}${reason}`;
    default:
      return state;
  }
}

/** The exit code `run --wait` ends with: the job's own when it failed with one. */
export function jobExitCode(w: Workload): number {
  if (w.state === 'succeeded') return 0;
  if (w.state === 'failed' && w.exitCode !== null && w.exitCode >= 1 && w.exitCode <= 255) return w.exitCode;
  return 1;
}
