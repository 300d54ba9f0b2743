import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isActiveReplicaState, type ReplicaState } from '../../src/core/replica-state.js';
import { launchRequest, type LaunchRequest } from '../../src/executors/spi.js';
import { SlurmAuthError, SlurmRestClient, SlurmUnavailableError } from '../../src/executors/slurm/rest-client.js';
import { SlurmExecutor } from '../../src/executors/slurm/slurm-executor.js';
import { startSlurmCluster, type SlurmCluster } from '../support/slurm-cluster.js';
import { executorConformance } from '../support/executor-conformance.js';

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

// What every executor owes the control plane, against the same real Slurm (the cluster is shared within this file).
executorConformance('slurm', async () => {
  const shared = await startSlurmCluster();
  const rest = new SlurmRestClient({ url: shared.restUrl, userName: shared.userName, token: shared.token });
  return {
    executor: new SlurmExecutor({ name: 'slurm:conformance', client: rest, outputDir: shared.outputDir, stopPollMs: 100 }),
    unknownId: '99999999',
    workdir: shared.outputDir,
    // The file's afterAll stops the cluster.
    async stop() {},
  };
});

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
