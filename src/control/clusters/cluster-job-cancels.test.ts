import { rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalHttpServer } from '../../../test/support/local-http-server.js';
import { tempDir, waitFor } from '../../../test/support/fleet.js';
import { startServer, type RunningServer } from '../main.js';

interface FakeJob {
  job_id: number;
  name: string;
  comment: string;
  job_state: string;
  restart_cnt: number;
  standard_output: string;
  standard_error: string;
}

/** Just enough of slurmrestd v0.0.38 for the cluster loop: one machine with two H100s, jobs that run until signalled. */
class FakeSlurm extends LocalHttpServer {
  readonly jobs = new Map<number, FakeJob>();
  /** Job ids and the signals sent to them, in order. */
  readonly signals: Array<[number, string]> = [];
  /** Signals answered with an error, as a slurmctld that refuses them would. */
  refuseSignals = false;
  private nextId = 1;

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname.replace('/slurm/v0.0.38/', '');
    const send = (body: unknown, status = 200): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === 'nodes') return send({ nodes: [{ name: 'm1', state: 'idle', cpus: 8, real_memory: 64_000, gres: 'gpu:h100:2', partitions: ['gpu'] }] });
    if (path === 'partitions') return send({ partitions: [{ name: 'gpu', state: 'UP' }] });
    if (path === 'jobs') return send({ jobs: [...this.jobs.values()] });
    if (path === 'job/submit') {
      const { job } = JSON.parse(Buffer.concat(parts).toString('utf8')) as { job: { name: string; comment: string } };
      const id = this.nextId++;
      this.jobs.set(id, { job_id: id, name: job.name, comment: job.comment, job_state: 'RUNNING', restart_cnt: 0, standard_output: '/nonexistent/out', standard_error: '/nonexistent/err' });
      return send({ job_id: id });
    }
    const job = this.jobs.get(Number(/^job\/(\d+)$/.exec(path)?.[1]));
    if (!job) return send({ errors: [{ error_number: 2017, error: 'Invalid job id specified' }] }, 500);
    if (req.method === 'GET') return send({ jobs: [job] });
    if (this.refuseSignals) return send({ errors: [{ error_number: 2020, error: 'Access/permission denied' }] }, 500);
    const signal = url.searchParams.get('signal') ?? 'SIGKILL';
    this.signals.push([job.job_id, signal]);
    job.job_state = 'CANCELLED';
    send({});
  }
}

describe('jobs to cancel, and deleting a cluster', () => {
  const slurm = new FakeSlurm();
  const dir = tempDir('cluster-deletion');
  let server: RunningServer;
  let adminToken: string;
  process.env['GPUFLEET_TEST_FAKE_SLURM_JWT'] = 'fake-token';

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const start = async () => {
    server = await startServer({ port: 0, dataDir: join(dir, 'data'), logLevel: 'silent', clusterSyncIntervalMs: 100 });
    adminToken ??= server.bootstrap!.adminToken;
  };
  const putCluster = () =>
    call('PUT', '/v1/clusters/hpc', { backend: 'slurm', url: slurm.url, user: 'ml', token: { env: 'GPUFLEET_TEST_FAKE_SLURM_JWT' }, outputDir: dir, gpuModels: { h100: 'H100-80GB' } });
  const clusterReady = () => waitFor('cluster ready', async () => (await call('GET', '/v1/clusters/hpc')).body['status'] === 'ready');
  const workload = async (name: string) => ((await call('GET', `/v1/workloads/${name}`)).body as { state: string; reason: string | null });
  const nodeNames = async () => ((await call('GET', '/v1/nodes')).body['items'] as Array<{ name: string }>).map((n) => n.name);
  const runOnCluster = async (name: string) => {
    expect((await call('POST', '/v1/workloads', { name, team: 'ml', queue: 'ml', cluster: 'hpc', gpus: 1, command: ['sleep', '600'] })).status).toBe(201);
    await waitFor(`${name} running`, async () => (await workload(name)).state === 'running');
  };

  beforeAll(async () => {
    await slurm.start();
    await start();
    await call('PUT', '/v1/teams/ml', {});
    await call('PUT', '/v1/queues/ml', { team: 'ml', quotas: [{ guaranteed: 0, limit: 8 }] });
  }, 60_000);
  afterEach(() => {
    slurm.refuseSignals = false;
  });
  afterAll(async () => {
    await server?.close();
    await slurm.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is refused while a workload runs on it, naming it; with force the workload is requeued, its job cancelled and its machines leave the inventory', async () => {
    expect((await putCluster()).status).toBe(200);
    await clusterReady();
    await runOnCluster('train-a');
    expect(await nodeNames()).toContain('hpc/m1');

    const refused = await call('DELETE', '/v1/clusters/hpc');
    expect(refused).toMatchObject({ status: 409, body: { code: 'conflict', details: { workloads: ['train-a'] } } });
    expect(refused.body['message']).toMatch(/cluster hpc has active workloads: train-a; delete it with force/);
    expect((await call('DELETE', '/v1/clusters/hpc?force=maybe')).status).toBe(400);

    expect((await call('DELETE', '/v1/clusters/hpc?force=true')).status).toBe(204);
    expect(await workload('train-a')).toMatchObject({ state: 'pending' });
    expect(await nodeNames()).not.toContain('hpc/m1');
    expect((await call('GET', '/v1/clusters/hpc')).status).toBe(404);
    await waitFor('the job cancelled', async () => slurm.signals.some(([id, signal]) => id === 1 && signal === 'SIGKILL'));
    const events = (await call('GET', '/v1/events?limit=50')).body['items'] as Array<{ kind: string; message: string }>;
    expect(events.find((e) => e.kind === 'cluster.deleted')?.message).toBe('cluster hpc deleted; 1 machine(s) left the inventory; requeued train-a; 1 job(s) left to cancel');
    expect((await call('DELETE', '/v1/clusters/hpc')).status).toBe(404);
    expect((await call('POST', '/v1/workloads', { team: 'ml', queue: 'ml', cluster: 'hpc', gpus: 1, command: ['true'] })).status).toBe(422);
    expect((await call('POST', `/v1/workloads/train-a/cancel`)).status).toBe(200);
  });

  it('keeps the jobs still to cancel across a server restart, holding the name until they are cancelled', async () => {
    expect((await putCluster()).status).toBe(200);
    await clusterReady();
    // The machine came back under the same name: its earlier row left the inventory, it did not hold the name.
    expect(await nodeNames()).toContain('hpc/m1');
    await runOnCluster('train-b');
    const job = [...slurm.jobs.values()].find((j) => j.name === 'train-b')!;

    slurm.refuseSignals = true;
    expect((await call('DELETE', '/v1/clusters/hpc?force=true')).status).toBe(204);
    expect((await call('GET', '/v1/clusters/hpc')).status).toBe(404);
    await new Promise((r) => setTimeout(r, 500));
    expect((await putCluster()).body['message']).toMatch(/cluster hpc is being deleted: its jobs are still being cancelled/);

    await server.close();
    slurm.refuseSignals = false;
    await start();
    await waitFor('the job cancelled after the restart', async () => slurm.signals.some(([id]) => id === job.job_id));
    await waitFor('the name free again', async () => (await putCluster()).status === 200);
  });

  it('cancels the old job of a replica Slurm requeued, even across a server restart', async () => {
    await clusterReady();
    await runOnCluster('train-c');
    const old = [...slurm.jobs.values()].find((j) => j.name === 'train-c')!;
    slurm.refuseSignals = true;
    // Slurm requeued it behind gpufleet's back: lost, so the workload runs again as a new job.
    Object.assign(old, { job_state: 'PENDING', restart_cnt: 1 });
    await waitFor('a new job', async () => [...slurm.jobs.values()].some((j) => j.name === 'train-c' && j.job_id !== old.job_id));
    await waitFor('train-c running again', async () => (await workload('train-c')).state === 'running');
    expect(slurm.signals.some(([id]) => id === old.job_id)).toBe(false);

    await server.close();
    slurm.refuseSignals = false;
    await start();
    await waitFor('the old job cancelled after the restart', async () => slurm.signals.some(([id]) => id === old.job_id));
    const current = [...slurm.jobs.values()].find((j) => j.name === 'train-c' && j.job_id !== old.job_id)!;
    expect(current.job_state).toBe('RUNNING');
    expect((await call('POST', '/v1/workloads/train-c/cancel')).status).toBe(200);
  });
});
