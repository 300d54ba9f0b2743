import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './main.js';
import { ClientError, HttpClient } from '../client/http.js';
import type { DesiredState, RegisterResponse } from '../core/agent-protocol.js';
import type { Explanation, Workload } from '../core/api-types.js';

/** Gangs, GPU shares and the new API fields, with agents driven by hand. */
describe('gangs and GPU shares on the server', () => {
  let server: RunningServer;
  let admin: HttpClient;
  const nodes: Record<string, HttpClient> = {};

  const register = async (name: string, labels: Record<string, string>) => {
    const anon = new HttpClient({ baseUrl: server.url });
    const gpus = [0, 1].map((index) => ({ index, uuid: `GPU-${name}-${index}`, model: 'L4-24GB', memoryMiB: 24576 }));
    const res = await anon.request<RegisterResponse>('POST', '/v1/agent/register', {
      body: { joinToken: server.bootstrap!.joinToken, name, gpus, simulated: true, labels, cpus: 0, memoryMiB: 0, agentVersion: 'test' },
    });
    nodes[name] = new HttpClient({ baseUrl: server.url, token: res.credential });
  };
  const heartbeat = (name: string, replicas: unknown[] = []) => nodes[name]!.request<DesiredState>('POST', '/v1/agent/heartbeat', { body: { replicas } });
  const get = (ref: string) => admin.request<Workload>('GET', `/v1/workloads/${ref}`);
  const until = async <T>(probe: () => Promise<T | undefined>): Promise<T> => {
    for (let i = 0; i < 300; i++) {
      const v = await probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('timed out');
  };
  const badRequest = async (method: string, path: string, body: unknown) => {
    const err = (await admin.request(method as 'POST', path, { body }).catch((e: unknown) => e)) as ClientError;
    expect(err).toBeInstanceOf(ClientError);
    expect(err.status).toBeGreaterThanOrEqual(400);
    expect(err.status).toBeLessThan(500);
    return { status: err.status, paths: ((err.details as { issues?: Array<{ path: string }> } | undefined)?.issues ?? []).map((i) => i.path) };
  };

  beforeAll(async () => {
    server = await startServer({ port: 0, dataDir: 'memory://', logLevel: 'silent', nodeSuspectAfterMs: 60_000, nodeLostAfterMs: 120_000 });
    admin = new HttpClient({ baseUrl: server.url, token: server.bootstrap!.adminToken });
    await register('n-a', { rack: 'r1' });
    await register('n-b', { rack: 'r1' });
  });
  afterAll(async () => server.close());

  it('starts a gang on two nodes, runs it when all run, and fails it (stopping the rest) when one fails', async () => {
    const w = await admin.request<Workload>('POST', '/v1/workloads', {
      body: { name: 'gang', gpus: 2, replicas: 2, topology: { required: 'rack' }, command: ['sleep', '60'] },
    });
    expect(w).toMatchObject({ replicas: 2, topology: { required: 'rack', preferred: null } });
    const [da, db] = await until(async () => {
      const states = await Promise.all([heartbeat('n-a'), heartbeat('n-b')]);
      return states.every((d) => d.assignments.length === 1) ? states : undefined;
    });
    const a = da!.assignments[0]!;
    const b = db!.assignments[0]!;
    expect([a.replicaIndex, b.replicaIndex].sort()).toEqual([0, 1]);
    expect(a.replicas).toBe(2);
    expect(a.generation).toBe(b.generation);

    await heartbeat('n-a', [{ replicaId: a.replicaId, generation: a.generation, state: 'running' }]);
    expect((await get('gang')).state).toBe('admitted');
    await heartbeat('n-b', [{ replicaId: b.replicaId, generation: b.generation, state: 'running' }]);
    const running = await get('gang');
    expect(running.state).toBe('running');
    expect(running.replicaStatus.map((r) => r.state)).toEqual(['running', 'running']);

    await heartbeat('n-a', [{ replicaId: a.replicaId, generation: a.generation, state: 'failed', exitCode: 2 }]);
    expect(await get('gang')).toMatchObject({ state: 'failed', exitCode: 2 });
    // The other replica is told to stop.
    expect((await heartbeat('n-b')).assignments[0]).toMatchObject({ replicaId: b.replicaId, desired: 'stop' });
    await heartbeat('n-b', [{ replicaId: b.replicaId, generation: b.generation, state: 'stopped', exitCode: 143 }]);
    expect((await get('gang')).state).toBe('failed');
  });

  it('gives a fractional replica one GPU, its share and its GPU memory', async () => {
    await admin.request('POST', '/v1/workloads', { body: { name: 'share', gpus: 0.5, command: ['true'] } });
    const assignment = await until(async () => {
      for (const n of ['n-a', 'n-b']) {
        const found = (await heartbeat(n)).assignments.find((x) => x.workloadName === 'share');
        if (found) return { node: n, found };
      }
      return undefined;
    });
    expect(assignment.found).toMatchObject({ gpuFraction: 0.5, gpuMemoryMiB: 12288, replicaIndex: 0, replicas: 1 });
    expect(assignment.found.gpuIndices).toHaveLength(1);
    expect(await get('share')).toMatchObject({ gpus: 0.5, state: 'admitted' });
    await heartbeat(assignment.node, [{ replicaId: assignment.found.replicaId, generation: assignment.found.generation, state: 'succeeded', exitCode: 0 }]);
    expect((await get('share')).state).toBe('succeeded');
  });

  it('explains why a job waits', async () => {
    await admin.request('POST', '/v1/workloads', { body: { name: 'huge', gpus: 8, command: ['true'] } });
    const e = await until(async () => {
      const x = await admin.request<Explanation>('GET', '/v1/workloads/huge/explain');
      return x.reasons[0] !== 'waiting for the scheduler' ? x : undefined;
    });
    expect(e).toMatchObject({ workload: 'huge', state: 'pending' });
    expect(e.reasons.length).toBeGreaterThan(0);
    expect((await get('huge')).reasons).toEqual(e.reasons);
    await admin.request('POST', '/v1/workloads/huge/cancel', { body: {} });
  });

  it('refuses bad scheduling fields with a 4xx naming the field', async () => {
    const job = (extra: Record<string, unknown>) => ({ command: ['true'], ...extra });
    expect(await badRequest('POST', '/v1/workloads', job({ gpus: 1.5 }))).toEqual({ status: 400, paths: ['gpus'] });
    expect(await badRequest('POST', '/v1/workloads', job({ gpus: 2, gpuMemory: '10Gi' }))).toEqual({ status: 400, paths: ['gpuMemory'] });
    expect(await badRequest('POST', '/v1/workloads', job({ gpuModel: 'L4-24GB', gpuModels: ['L4-24GB'] }))).toEqual({ status: 400, paths: ['gpuModels'] });
    expect(await badRequest('POST', '/v1/workloads', job({ replicas: 0 }))).toEqual({ status: 400, paths: ['replicas'] });
    expect(await badRequest('POST', '/v1/workloads', job({ priorityClass: 'vip' }))).toEqual({ status: 400, paths: ['priorityClass'] });
    expect(await badRequest('POST', '/v1/workloads', job({ timeLimit: '90 minutes' }))).toEqual({ status: 400, paths: ['timeLimit'] });
    expect(await badRequest('POST', '/v1/workloads', job({ memory: '1 GB' }))).toEqual({ status: 400, paths: ['memory'] });
    expect(await badRequest('POST', '/v1/workloads', job({ topology: { required: 'rack room' } }))).toEqual({ status: 400, paths: ['topology.required'] });
  });

  it('nests queues under a parent that exists, never in a cycle', async () => {
    await admin.request('PUT', '/v1/queues/org', { body: { team: 'default', quotas: [{ guaranteed: 4 }, { resource: 'memory', guaranteed: 64 }] } });
    const child = await admin.request<{ queue: { parent: string | null } }>('PUT', '/v1/queues/project', { body: { team: 'default', parent: 'org' } });
    expect(child.queue.parent).toBe('org');
    expect(await badRequest('PUT', '/v1/queues/other', { team: 'default', parent: 'nowhere' })).toEqual({ status: 422, paths: ['parent'] });
    expect(await badRequest('PUT', '/v1/queues/org', { team: 'default', parent: 'project' })).toEqual({ status: 422, paths: ['parent'] });
    expect(await badRequest('PUT', '/v1/queues/org', { team: 'default', parent: 'org' })).toEqual({ status: 422, paths: ['parent'] });
    expect(await badRequest('PUT', '/v1/queues/org', { team: 'default', quotas: [{ guaranteed: 2, lendingLimit: 3 }] })).toEqual({ status: 400, paths: ['quotas[0].lendingLimit'] });
    expect((await badRequest('DELETE', '/v1/queues/org', undefined)).status).toBe(409);
  });
});
