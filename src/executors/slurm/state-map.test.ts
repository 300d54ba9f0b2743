import { describe, expect, it } from 'vitest';
import { mapSlurmJobState, slurmHoldsJob, type SlurmJobFacts } from './state-map.js';

const job = (jobState: string, more: Partial<SlurmJobFacts> = {}): SlurmJobFacts => ({ jobState, exitCode: 0, restartCount: 0, stateReason: null, ...more });

describe('mapSlurmJobState', () => {
  it.each([
    ['PENDING', job('PENDING', { stateReason: 'None' }), 'assigned', null, null],
    ['PENDING with a reason', job('PENDING', { stateReason: 'Resources' }), 'assigned', null, 'pending in Slurm: Resources'],
    ['PENDING after a requeue', job('PENDING', { restartCount: 1 }), 'lost', null, 'Slurm requeued the job (restart 1); it is pending again'],
    ['CONFIGURING', job('CONFIGURING'), 'assigned', null, 'Slurm is configuring the job’s nodes'],
    ['RUNNING', job('RUNNING'), 'running', null, null],
    ['COMPLETING', job('COMPLETING'), 'running', null, null],
    ['SUSPENDED', job('SUSPENDED'), 'running', null, 'suspended by Slurm (SUSPENDED)'],
    ['COMPLETED', job('COMPLETED'), 'succeeded', 0, null],
    ['FAILED with exit 3', job('FAILED', { exitCode: 3 << 8 }), 'failed', 3, 'exited with code 3'],
    ['FAILED by SIGKILL', job('FAILED', { exitCode: 9 }), 'failed', null, 'killed by SIGKILL'],
    ['FAILED by SIGSEGV', job('FAILED', { exitCode: 11 }), 'failed', null, 'killed by SIGSEGV'],
    ['FAILED, no exit code', job('FAILED', { exitCode: null }), 'failed', null, 'failed in Slurm'],
    ['CANCELLED by someone else', job('CANCELLED'), 'stopped', null, 'cancelled in Slurm'],
    ['CANCELLED with flags', job('CANCELLED by 0'), 'stopped', null, 'cancelled in Slurm'],
    ['TIMEOUT', job('TIMEOUT', { exitCode: 15 }), 'failed', null, 'reached its Slurm time limit'],
    ['DEADLINE', job('DEADLINE'), 'failed', null, 'reached its Slurm deadline'],
    ['OUT_OF_MEMORY', job('OUT_OF_MEMORY', { exitCode: 0 }), 'failed', 0, 'ran out of memory'],
    ['NODE_FAIL', job('NODE_FAIL'), 'lost', null, 'its Slurm node failed'],
    ['BOOT_FAIL', job('BOOT_FAIL'), 'lost', null, 'its Slurm node failed to boot'],
    ['PREEMPTED', job('PREEMPTED'), 'lost', null, 'preempted by Slurm'],
    ['REQUEUED', job('REQUEUED'), 'lost', null, 'Slurm requeued the job (REQUEUED)'],
    ['REQUEUE_HOLD', job('REQUEUE_HOLD'), 'lost', null, 'Slurm requeued the job (REQUEUE_HOLD)'],
    ['SPECIAL_EXIT', job('SPECIAL_EXIT'), 'lost', null, 'Slurm requeued the job (SPECIAL_EXIT)'],
    ['REVOKED', job('REVOKED'), 'lost', null, 'Slurm revoked the job from this cluster'],
    ['lower case', job('running'), 'running', null, null],
    ['unknown', job('WEIRD'), 'lost', null, 'unknown Slurm job state WEIRD'],
  ])('%s', (_label, facts, state, exitCode, message) => {
    expect(mapSlurmJobState(facts)).toEqual({ state, exitCode, message });
  });

  it('an end by signal or cancellation that gpufleet asked for is stopped', () => {
    expect(mapSlurmJobState(job('FAILED', { exitCode: 15 }), { stopRequested: true })).toEqual({ state: 'stopped', exitCode: null, message: 'ended by SIGTERM' });
    expect(mapSlurmJobState(job('CANCELLED'), { stopRequested: true })).toEqual({ state: 'stopped', exitCode: null, message: null });
    expect(mapSlurmJobState(job('COMPLETED'), { stopRequested: true })).toEqual({ state: 'stopped', exitCode: 0, message: null });
  });

  it('a job Slurm is still killing after gpufleet’s stop is stopping', () => {
    expect(mapSlurmJobState(job('COMPLETING'), { stopRequested: true }).state).toBe('stopping');
  });

  it('a failure that is not a signal stays a failure even when a stop was asked for', () => {
    expect(mapSlurmJobState(job('FAILED', { exitCode: 1 << 8 }), { stopRequested: true }).state).toBe('failed');
  });
});

describe('slurmHoldsJob', () => {
  it.each([
    ['PENDING', 'waiting'],
    ['REQUEUED', 'waiting'],
    ['REQUEUE_HOLD', 'waiting'],
    ['RUNNING', 'running'],
    ['COMPLETING', 'running'],
    ['SUSPENDED', 'running'],
    ['COMPLETED', null],
    ['CANCELLED by 0', null],
    ['NODE_FAIL', null],
    ['FAILED', null],
  ])('%s', (state, expected) => {
    expect(slurmHoldsJob(state)).toBe(expected);
  });
});
