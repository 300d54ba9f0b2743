import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './main.js';
import { HttpClient } from '../client/http.js';
import type { DesiredState, RegisterResponse } from '../core/agent-protocol.js';
import type { Workload } from '../core/api-types.js';

/** The agent protocol as the server sees it, driven by hand so every ordering can be forced. */
describe('agent protocol on the server', () => {
  let server: RunningServer;
  let admin: HttpClient;
  const nodes: Record<string, HttpClient> = {};

  const register = async (name: string) => {
    const anon = new HttpClient({ baseUrl: server.url });
    const gpus = [0, 1].map((index) => ({ index, uuid: `GPU-${name}-${index}`, model: 'L4-24GB', memoryMiB: 24576 }));
    const res = await anon.request<RegisterResponse>('POST', '/v1/agent/register', {
      body: { joinToken: server.bootstrap!.joinToken, name, gpus, simulated: true, labels: {}, cpus: 4, memoryMiB: 1024, agentVersion: 'test' },
    });
    nodes[name] = new HttpClient({ baseUrl: server.url, token: res.credential });
    return res;
  };
  const heartbeat = (name: string, replicas: unknown[] = []) => nodes[name]!.request<DesiredState>('POST', '/v1/agent/heartbeat', { body: { replicas } });
  const waitAssigned = async (name: string) => {
    for (let i = 0; i < 200; i++) {
      const d = await heartbeat(name);
      if (d.assignments.length > 0) return d;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no assignment');
  };

  beforeAll(async () => {
    server = await startServer({ port: 0, dataDir: 'memory://', logLevel: 'silent', nodeSuspectAfterMs: 60_000, nodeLostAfterMs: 120_000 });
    admin = new HttpClient({ baseUrl: server.url, token: server.bootstrap!.adminToken });
    await register('n1');
  });
  afterAll(async () => server.close());

  it('records a start for a replica first reported at its end', async () => {
    await admin.request('POST', '/v1/workloads', { body: { name: 'quick', gpus: 1, command: ['true'] } });
    const a = (await waitAssigned('n1')).assignments[0]!;
    const after = await heartbeat('n1', [{ replicaId: a.replicaId, generation: a.generation, state: 'succeeded', exitCode: 0 }]);
    expect(after.assignments).toEqual([]);
    const w = await admin.request<Workload>('GET', '/v1/workloads/quick');
    expect(w).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(w.startedAt).not.toBeNull();
  });

  it('ignores reports of a stale generation and replicas of other nodes', async () => {
    await register('n2');
    await admin.request('POST', '/v1/workloads', { body: { name: 'fenced', gpus: 2, command: ['sleep', '9'] } });
    const d = await waitAssigned('n1').catch(() => waitAssigned('n2'));
    const a = d.assignments[0]!;
    const owner = (await admin.request<Workload>('GET', '/v1/workloads/fenced')).node!;
    const other = owner === 'n1' ? 'n2' : 'n1';
    await heartbeat(owner, [{ replicaId: a.replicaId, generation: a.generation - 1, state: 'failed', exitCode: 1 }]);
    await heartbeat(other, [{ replicaId: a.replicaId, generation: a.generation, state: 'failed', exitCode: 1 }]);
    await nodes[other]!.request('POST', '/v1/agent/logs', { body: { chunks: [{ replicaId: a.replicaId, stream: 'stdout', offset: 0, data: 'forged\n' }] } });
    expect((await admin.request<Workload>('GET', '/v1/workloads/fenced')).state).toBe('admitted');
    const logs = await admin.request<{ entries: unknown[] }>('GET', '/v1/workloads/fenced/logs');
    expect(logs.entries).toEqual([]);
    await heartbeat(owner, [{ replicaId: a.replicaId, generation: a.generation, state: 'running' }]);
    expect((await admin.request<Workload>('GET', '/v1/workloads/fenced')).state).toBe('running');
  });

  it('answers a watch at once when the revision moved, and on time when it did not', async () => {
    const now = await heartbeat('n1');
    const started = Date.now();
    const same = await nodes.n1!.request<DesiredState>('GET', '/v1/agent/assignments', { query: { revision: now.revision, waitMs: 300 }, waitMs: 300 });
    expect(same.revision).toBe(now.revision);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const moved = await nodes.n1!.request<DesiredState>('GET', '/v1/agent/assignments', { query: { revision: now.revision - 1, waitMs: 5000 }, waitMs: 5000 });
    expect(moved.revision).toBe(now.revision);
  });

  it('refuses a bad join token and a node credential on user routes', async () => {
    const anon = new HttpClient({ baseUrl: server.url });
    await expect(
      anon.request('POST', '/v1/agent/register', { body: { joinToken: 'gfj_wrong', name: 'evil', gpus: [], simulated: true, labels: {}, cpus: 1, memoryMiB: 1, agentVersion: 'x' } }),
    ).rejects.toMatchObject({ status: 401 });
    await expect(nodes.n1!.request('GET', '/v1/workloads')).rejects.toMatchObject({ status: 403 });
  });
});
