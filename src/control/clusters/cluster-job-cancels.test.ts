import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlurmRestd } from '../../../test/support/fake-slurmrestd.js';
import { tempDir, waitFor } from '../../../test/support/fleet.js';
import { startServer, type RunningServer } from '../main.js';

describe('jobs to cancel, and deleting a cluster', () => {
  const slurm = new FakeSlurmRestd();
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
