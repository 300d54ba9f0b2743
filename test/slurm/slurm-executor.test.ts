import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isActiveReplicaState, type ReplicaState } from '../../src/core/replica-state.js';
import { launchRequest, type LaunchRequest } from '../../src/executors/spi.js';
import { SlurmAuthError, SlurmRestClient, SlurmUnavailableError } from '../../src/executors/slurm/rest-client.js';
import { SlurmExecutor } from '../../src/executors/slurm/slurm-executor.js';
import { startSlurmCluster, type SlurmCluster } from '../support/slurm-cluster.js';

// A real slurmctld, slurmd, slurmrestd and munged, started here; if they cannot be, the tests fail
// with the reason (missing packages, not root) rather than skip.
let cluster: SlurmCluster;
let executor: SlurmExecutor;
let client: SlurmRestClient;

beforeAll(async () => {
  cluster = await startSlurmCluster();
  client = new SlurmRestClient({ url: cluster.restUrl, userName: cluster.userName, token: cluster.token });
  executor = new SlurmExecutor({ name: 'slurm:test', client, outputDir: cluster.outputDir, stopPollMs: 100 });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

const ended = (state: ReplicaState) => !isActiveReplicaState(state);

let replicaSeq = 0;
function request(command: string[], more: Partial<LaunchRequest> = {}): LaunchRequest {
  replicaSeq++;
  return launchRequest({
    replicaId: `r${process.pid}x${replicaSeq}`,
    generation: 1,
    workloadName: `job-${replicaSeq}`,
    command,
    env: {},
    workdir: null,
    gpus: { count: 0 },
    gpuModel: null,
    timeLimitSeconds: 300,
    ...more,
  });
}

async function waitForState(externalId: string, done: (state: ReplicaState) => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await executor.status([externalId])).get(externalId)!;
    if (done(status.state)) return status;
    if (Date.now() > deadline) throw new Error(`job ${externalId} still ${status.state} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function readAll(externalId: string, stream: 'stdout' | 'stderr'): Promise<string> {
  let text = '';
  let offset = 0;
  for (let i = 0; i < 100; i++) {
    const read = await executor.logs(externalId, stream, offset);
    text += read.data;
    offset = read.nextOffset;
    if (read.done) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`logs of ${externalId} never reached done`);
}

describe('Slurm executor against a real Slurm', () => {
  it('syncs the node with its 8 h100 GPUs and its partition', async () => {
    const nodes = await executor.syncInventory();
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ name: cluster.nodeName, state: 'ready', partitions: ['gpu'] });
    expect(nodes[0]!.gpus).toHaveLength(8);
    expect(new Set(nodes[0]!.gpus.map((g) => g.model))).toEqual(new Set(['h100']));
  });

  it('runs a job with GPUs, environment and name; a failure reports its exit code and its output is readable', async () => {
    const req = request(['sh', '-c', 'echo "gpus=$SLURM_GPUS_ON_NODE cuda=$CUDA_VISIBLE_DEVICES greeting=$GREETING"; echo oops >&2; exit 3'], {
      gpus: { count: 2 },
      gpuModel: 'h100',
      env: { GREETING: 'hello world', CUDA_VISIBLE_DEVICES: '7' },
    });
    const handle = await executor.launch(req);
    expect(handle.created).toBe(true);

    const status = await waitForState(handle.externalId, ended);
    expect(status).toEqual({ state: 'failed', exitCode: 3, message: 'exited with code 3' });

    const out = await readAll(handle.externalId, 'stdout');
    expect(out).toContain('gpus=2');
    expect(out).toContain('greeting=hello world');
    // Slurm, not the caller, decides which devices the job sees.
    if (cluster.gpuDevicesAreCharDevices) expect(out).toMatch(/cuda=\d,\d greeting/);
    expect(await readAll(handle.externalId, 'stderr')).toBe('oops\n');

    const job = await client.job(Number(handle.externalId));
    expect(job).toMatchObject({ name: req.workloadName, comment: `gpufleet:${req.idempotencyKey}` });
    expect(JSON.stringify(job)).toContain('gpu:h100:2');
  });

  it('a second launch with the same idempotency key returns the same job, never a second one', async () => {
    const req = request(['true']);
    const first = await executor.launch(req);
    const again = await executor.launch(req);
    expect(again).toEqual({ externalId: first.externalId, created: false });
    const sameComment = (await client.jobs()).filter((j) => j.comment === `gpufleet:${req.idempotencyKey}`);
    expect(sameComment.map((j) => String(j.job_id))).toEqual([first.externalId]);
    expect((await waitForState(first.externalId, (s) => s === 'succeeded')).exitCode).toBe(0);
  });

  it('stop() ends a running job: SIGTERM first, and it is reported stopped', async () => {
    const handle = await executor.launch(request(['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo started; while :; do sleep 0.1; done']));
    await waitForState(handle.externalId, (s) => s === 'running');
    // The trap must be installed before the signal arrives.
    for (let i = 0; i < 50 && !(await executor.logs(handle.externalId, 'stdout', 0)).data.includes('started'); i++) await new Promise((r) => setTimeout(r, 100));
    await executor.stop(handle.externalId, 10_000);
    const status = await waitForState(handle.externalId, ended);
    expect(status.state).toBe('succeeded');
    expect(await readAll(handle.externalId, 'stdout')).toContain('got-term');
  });

  it('stop() forces a job that ignores SIGTERM after the grace period', async () => {
    const handle = await executor.launch(request(['sh', '-c', 'trap "" TERM; echo started; while :; do sleep 0.1; done']));
    await waitForState(handle.externalId, (s) => s === 'running');
    for (let i = 0; i < 50 && !(await executor.logs(handle.externalId, 'stdout', 0)).data.includes('started'); i++) await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await executor.stop(handle.externalId, 1500);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    const status = await waitForState(handle.externalId, ended);
    expect(status.state).toBe('stopped');
  });

  it('a job Slurm does not know is reported lost', async () => {
    const status = (await executor.status(['99999999'])).get('99999999');
    expect(status).toEqual({ state: 'lost', exitCode: null, message: 'Slurm no longer knows the job' });
  });

  it('a bad token is a SlurmAuthError that never contains the token', async () => {
    const badToken = cluster.token.slice(0, -6) + 'AAAAAA';
    const bad = new SlurmExecutor({ name: 'slurm:bad', client: new SlurmRestClient({ url: cluster.restUrl, userName: 'root', token: badToken }), outputDir: cluster.outputDir });
    const err = await bad.syncInventory().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlurmAuthError);
    expect((err as Error).message).toMatch(/JWT/);
    expect((err as Error).message).not.toContain(badToken);
    expect((err as Error).message).not.toContain(badToken.slice(0, 40));

    const launchErr = await bad.launch(request(['true'])).catch((e: unknown) => e);
    expect(launchErr).toBeInstanceOf(SlurmAuthError);

    const expired = `x.${Buffer.from(JSON.stringify({ exp: 1, sun: 'root' })).toString('base64url')}.y`;
    const expiredErr = await new SlurmRestClient({ url: cluster.restUrl, userName: 'root', token: expired }).ping().catch((e: unknown) => e);
    expect(expiredErr).toBeInstanceOf(SlurmAuthError);
    expect((expiredErr as Error).message).toMatch(/expired at 1970/);
    expect((expiredErr as Error).message).not.toContain(expired);
  });

  it('slurmrestd down is SlurmUnavailableError; after it returns the job state is read correctly and a retried launch is not resubmitted', async () => {
    const req = request(['sh', '-c', 'sleep 1; exit 7']);
    const handle = await executor.launch(req);
    await cluster.stopRestd();
    try {
      await expect(executor.status([handle.externalId])).rejects.toBeInstanceOf(SlurmUnavailableError);
      await expect(executor.launch(req)).rejects.toBeInstanceOf(SlurmUnavailableError);
      await expect(executor.syncInventory()).rejects.toThrow(/unreachable/);
    } finally {
      await cluster.startRestd();
    }
    const status = await waitForState(handle.externalId, ended);
    expect(status).toEqual({ state: 'failed', exitCode: 7, message: 'exited with code 7' });
    expect(await executor.launch(req)).toEqual({ externalId: handle.externalId, created: false });
  });
});
