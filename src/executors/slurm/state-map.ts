import type { ExecutorReplicaStatus } from '../spi.js';

/** What the state mapping needs from a Slurm job record. */
export interface SlurmJobFacts {
  jobState: string;
  /** Slurm's raw wait status: exit code in bits 8-15, terminating signal in the low 7 bits. */
  exitCode: number | null;
  /** Times Slurm restarted (requeued) the job. */
  restartCount: number;
  stateReason: string | null;
}

export interface MapOptions {
  /** gpufleet asked for the stop, so an end by signal or cancellation is `stopped`, not a failure. */
  stopRequested: boolean;
}

const signalNames: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

/**
 * Slurm's job states onto gpufleet's replica states. Replicas never go back to an earlier state, so
 * anything Slurm does behind gpufleet's back that would (requeue, preemption, a failed node) is
 * `lost`: the workload is admitted again under a new generation, and the old job must be cancelled.
 */
export function mapSlurmJobState(job: SlurmJobFacts, options: MapOptions = { stopRequested: false }): ExecutorReplicaStatus {
  const state = baseState(job.jobState);
  const { code, signal } = decodeWaitStatus(job.exitCode);
  switch (state) {
    case 'PENDING':
      if (job.restartCount > 0) return lost(`Slurm requeued the job (restart ${job.restartCount}); it is pending again`);
      return { state: 'assigned', exitCode: null, message: pendingMessage(job.stateReason) };
    case 'CONFIGURING':
      return { state: 'assigned', exitCode: null, message: 'Slurm is configuring the job’s nodes' };
    case 'COMPLETING':
      // Slurm is killing the job's processes (up to KillWait); after gpufleet's stop that is `stopping`.
      return { state: options.stopRequested ? 'stopping' : 'running', exitCode: null, message: null };
    case 'RUNNING':
    case 'SIGNALING':
    case 'STAGE_OUT':
    case 'RESIZING':
      return { state: 'running', exitCode: null, message: null };
    case 'SUSPENDED':
    case 'STOPPED':
      return { state: 'running', exitCode: null, message: `suspended by Slurm (${state})` };
    case 'COMPLETED':
      // Ended on gpufleet's SIGTERM by itself: stopped, as the agent reports it.
      return { state: options.stopRequested ? 'stopped' : 'succeeded', exitCode: 0, message: null };
    case 'CANCELLED':
      return { state: 'stopped', exitCode: null, message: options.stopRequested ? null : 'cancelled in Slurm' };
    case 'FAILED':
      if (signal !== null) {
        const name = signalNames[signal] ?? `signal ${signal}`;
        if (options.stopRequested) return { state: 'stopped', exitCode: null, message: `ended by ${name}` };
        return { state: 'failed', exitCode: null, message: `killed by ${name}` };
      }
      return { state: 'failed', exitCode: code, message: code === null ? 'failed in Slurm' : `exited with code ${code}` };
    case 'TIMEOUT':
      return { state: 'failed', exitCode: code, message: 'reached its Slurm time limit' };
    case 'DEADLINE':
      return { state: 'failed', exitCode: null, message: 'reached its Slurm deadline' };
    case 'OUT_OF_MEMORY':
      return { state: 'failed', exitCode: code, message: 'ran out of memory' };
    case 'NODE_FAIL':
      return lost('its Slurm node failed');
    case 'BOOT_FAIL':
      return lost('its Slurm node failed to boot');
    case 'PREEMPTED':
      return lost('preempted by Slurm');
    case 'REQUEUED':
    case 'REQUEUE_HOLD':
    case 'REQUEUE_FED':
    case 'SPECIAL_EXIT':
      return lost(`Slurm requeued the job (${state})`);
    case 'REVOKED':
      return lost('Slurm revoked the job from this cluster');
    default:
      return lost(`unknown Slurm job state ${job.jobState}`);
  }
}

/**
 * Whether Slurm may still run the job: `running` (its processes exist), `waiting` (pending, or
 * requeued to run again), or null once it is over. What a stop must end, whatever the replica
 * state says: a job Slurm requeued is `lost` to gpufleet but would still run if left alone.
 */
export function slurmHoldsJob(jobState: string): 'running' | 'waiting' | null {
  const state = baseState(jobState);
  if (['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'SPECIAL_EXIT'].includes(state)) return 'waiting';
  if (['RUNNING', 'COMPLETING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT', 'RESIZING'].includes(state)) return 'running';
  return null;
}

export const unknownJobStatus: ExecutorReplicaStatus = lost('Slurm no longer knows the job');

/** Slurm reports flags after the base state on some paths (`CANCELLED by 0`, `RUNNING,COMPLETING`). */
function baseState(jobState: string): string {
  return jobState.trim().toUpperCase().split(/[ ,+]/)[0] ?? '';
}

function decodeWaitStatus(raw: number | null): { code: number | null; signal: number | null } {
  if (raw === null || raw < 0) return { code: null, signal: null };
  const signal = raw & 0x7f;
  return signal !== 0 ? { code: null, signal } : { code: (raw >> 8) & 0xff, signal: null };
}

function pendingMessage(reason: string | null): string | null {
  return reason && reason !== 'None' ? `pending in Slurm: ${reason}` : null;
}

function lost(message: string): ExecutorReplicaStatus {
  return { state: 'lost', exitCode: null, message };
}
