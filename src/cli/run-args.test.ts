import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { GpufleetClient, WorkloadSubmitBody } from '../client/api-client.js';
import type { Workload } from '../core/api-types.js';
import type { CliContext } from './context.js';
import { UsageError } from './errors.js';
import { buildProgram } from './program.js';

const base: Workload = {
  id: 'j-0000000001', name: 'hello', team: 'default', queue: 'default', kind: 'job', state: 'pending', reason: null,
  reasons: [], gpuMemoryMiB: null, gpuModels: null, cpus: 0, memoryMiB: 0, replicas: 1, priorityClass: null, preemptible: true,
  topology: { required: null, preferred: null }, timeLimitSeconds: null, cluster: null, replicaStatus: [],
  gpus: 2, gpuModel: null, priority: 0, command: ['true'], env: {}, workdir: null, gracePeriodSeconds: 10, generation: 1,
  attempts: 0, exitCode: null, node: null, gpuIndices: [], version: 1, createdAt: '2025-01-10T12:00:00.000Z',
  admittedAt: null, startedAt: null, finishedAt: null,
};

/** Runs `gpufleet ARGS` against a fake server that records submissions and replays job states. */
async function gpufleet(args: string[], states: Partial<Workload>[] = []) {
  const submitted: WorkloadSubmitBody[] = [];
  let out = '';
  let err = '';
  const client = {
    baseUrl: 'http://fake',
    async submitWorkload(body: WorkloadSubmitBody) {
      submitted.push(body);
      return { ...base, name: body.name ?? base.name };
    },
    async getWorkload() {
      return { ...base, ...(states.shift() ?? {}) };
    },
    async listNodes() {
      return [{ id: 'n-abcdefghij', name: 'gpu-01' }];
    },
  } as unknown as GpufleetClient;
  const ctx: CliContext = {
    env: {},
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    now: () => Date.now(),
    exitCode: 0,
    client: async () => client,
  };
  let error: unknown = null;
  await buildProgram(ctx)
    .parseAsync(args, { from: 'user' })
    .catch((e: unknown) => (error = e));
  return { submitted, out, err, error, exitCode: ctx.exitCode };
}

describe('gpufleet run', () => {
  it('takes everything after -- as the command, flags included', async () => {
    const r = await gpufleet(['run', '--name', 'hello', '--gpus', '2', '--', 'python', '-c', 'print(1)', '--gpus', '3']);
    expect(r.error).toBeNull();
    expect(r.submitted).toEqual([expect.objectContaining({ name: 'hello', gpus: 2, command: ['python', '-c', 'print(1)', '--gpus', '3'] })]);
    expect(r.out).toBe('job/hello submitted (j-0000000001)\n');
  });

  it('passes flags after the program name to the program even without --', async () => {
    const r = await gpufleet(['run', '--gpus', '1', 'python', 'train.py', '--lr', '3e-4']);
    expect(r.submitted[0]?.command).toEqual(['python', 'train.py', '--lr', '3e-4']);
  });

  it('collects repeated --env flags, keeping = inside values', async () => {
    const r = await gpufleet(['run', '--env', 'A=1', '--env', 'B=x=y', '--env', 'A=2', '--priority', '-5', '--', 'env']);
    expect(r.submitted[0]).toMatchObject({ env: { A: '2', B: 'x=y' }, priority: -5, command: ['env'] });
  });

  it('passes the scheduling flags through to the submission', async () => {
    const r = await gpufleet(['run', '--gpus', '0.5', '--replicas', '4', '--priority-class', 'train', '--no-preemptible', '--time-limit', '2h', '--cpus', '1.5', '--memory', '8Gi', '--cluster', 'hpc', '--', 'true']);
    expect(r.submitted).toEqual([
      expect.objectContaining({ gpus: 0.5, replicas: 4, priorityClass: 'train', preemptible: false, timeLimit: '2h', cpus: 1.5, memory: '8Gi', cluster: 'hpc' }),
    ]);
  });

  it.each([
    [['--gpus', 'abc'], /option '--gpus <n>' argument 'abc' is invalid\. must be a whole number/],
    [['--gpus', '1.5'], /option '--gpus <n>' argument '1.5' is invalid/],
    [['--env', 'NOEQUALS'], /option '--env <KEY=VALUE>' argument 'NOEQUALS' is invalid\. must be KEY=VALUE/],
    [['--env', '1A=x'], /--env <KEY=VALUE>.*"1A" is not an environment variable name/],
    [['--priority', 'high'], /--priority <p>.*must be an integer/],
    [['-o', 'xml'], /option '-o, --output <format>' argument 'xml' is invalid\. Allowed choices are table, json, yaml/],
  ])('rejects %j as a usage error naming the flag', async (flags, message) => {
    const r = await gpufleet(['run', ...flags, '--', 'true']);
    expect(r.error).toBeInstanceOf(CommanderError);
    expect((r.error as CommanderError).exitCode).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(r.submitted).toEqual([]);
  });

  it('requires a command', async () => {
    const r = await gpufleet(['run', '--gpus', '1']);
    expect(r.error).toBeInstanceOf(UsageError);
    expect((r.error as UsageError).exitCode).toBe(2);
  });

  it('with --wait draws the states on stderr and exits with the job’s exit code', async () => {
    const running: Partial<Workload> = { state: 'running', node: 'n-abcdefghij', gpuIndices: [0, 1], admittedAt: '2025-01-10T12:00:01.000Z', startedAt: '2025-01-10T12:00:01.000Z' };
    const r = await gpufleet(['run', '--name', 'hello', '--wait', '--', 'false'], [
      running,
      { ...running, state: 'failed', exitCode: 3, finishedAt: '2025-01-10T12:00:02.200Z' },
    ]);
    expect(r.error).toBeNull();
    expect(r.err).toBe('hello  pending → admitted → running (node gpu-01, GPUs 0,1) → failed (exit 3) in 1.2s\n');
    expect(r.out).toBe('');
    expect(r.exitCode).toBe(3);
  });

  it('with --wait fills in states the polls missed and exits 0 on success', async () => {
    const r = await gpufleet(['run', '--wait', '-o', 'json', '--', 'true'], [
      { state: 'succeeded', node: 'gpu-02', gpuIndices: [4], exitCode: 0, admittedAt: '2025-01-10T12:00:00.100Z', startedAt: '2025-01-10T12:00:00.200Z', finishedAt: '2025-01-10T12:00:00.600Z' },
    ]);
    expect(r.err).toBe('hello  pending → admitted → running (node gpu-02, GPUs 4) → succeeded in 0.4s\n');
    expect(JSON.parse(r.out)).toMatchObject({ state: 'succeeded' });
    expect(r.exitCode).toBe(0);
  });
});
