import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './main.js';
import { ClientError, HttpClient } from '../client/http.js';
import type { Assignment, DesiredState, RegisterResponse } from '../core/agent-protocol.js';
import type { Workload } from '../core/api-types.js';
import type { Service, ServiceEndpoint } from '../core/service-types.js';

/** Services on the server, with an agent driven by hand: slots, endpoints, restarts, scaling. */
describe('services on the server', () => {
  let server: RunningServer;
  let admin: HttpClient;
  let node: HttpClient;

  const heartbeat = (replicas: unknown[] = []) => node.request<DesiredState>('POST', '/v1/agent/heartbeat', { body: { replicas } });
  const running = (a: Assignment, port: number, ready = true) => ({ replicaId: a.replicaId, generation: a.generation, state: 'running', endpoint: `http://10.0.0.9:${port}`, ready });
  const put = (name: string, body: Record<string, unknown>) => admin.request<{ result: string; service: Service }>('PUT', `/v1/services/${name}`, { body });
  const endpoints = async (name: string) => (await admin.request<{ items: ServiceEndpoint[] }>('GET', `/v1/services/${name}/endpoints`)).items;
  const until = async <T>(probe: () => Promise<T | undefined>, tries = 500): Promise<T> => {
    for (let i = 0; i < tries; i++) {
      const v = await probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('timed out');
  };
  const assignmentsOf = (service: string, count: number) =>
    until(async () => {
      const mine = (await heartbeat()).assignments.filter((a) => a.workloadName.startsWith(`${service}.`) && a.desired === 'run');
      return mine.length === count ? mine.sort((a, b) => a.workloadName.localeCompare(b.workloadName)) : undefined;
    });
  const failure = async (promise: Promise<unknown>) => {
    const err = (await promise.catch((e: unknown) => e)) as ClientError;
    expect(err).toBeInstanceOf(ClientError);
    return { status: err.status, paths: ((err.details as { issues?: Array<{ path: string }> } | undefined)?.issues ?? []).map((i) => i.path) };
  };

  beforeAll(async () => {
    server = await startServer({ port: 0, dataDir: 'memory://', logLevel: 'silent', nodeSuspectAfterMs: 60_000, nodeLostAfterMs: 120_000, schedulerIntervalMs: 100 });
    admin = new HttpClient({ baseUrl: server.url, token: server.bootstrap!.adminToken });
    const gpus = [0, 1, 2, 3].map((index) => ({ index, uuid: `GPU-${index}`, model: 'L4-24GB', memoryMiB: 24576 }));
    const res = await new HttpClient({ baseUrl: server.url }).request<RegisterResponse>('POST', '/v1/agent/register', {
      body: { joinToken: server.bootstrap!.joinToken, name: 'n1', gpus, simulated: true, labels: {}, cpus: 0, memoryMiB: 0, agentVersion: 'test' },
    });
    node = new HttpClient({ baseUrl: server.url, token: res.credential });
  });
  afterAll(async () => server.close());

  it('places each replica as its own inference workload and lists the ready ones as endpoints', async () => {
    const { result, service } = await put('chat', { model: 'llama-8b', replicas: 2, gpus: 1, command: ['serve'] });
    expect(result).toBe('created');
    expect(service).toMatchObject({ model: 'llama-8b', version: 'v1', replicas: 2, readyReplicas: 0 });
    const [a0, a1] = await assignmentsOf('chat', 2);
    expect(a0!.service).toEqual({ model: 'llama-8b', version: 'v1', port: null, readinessPath: '/v1/models' });
    expect(a0!.gpuIndices).toHaveLength(1);
    const w = await admin.request<Workload>('GET', '/v1/workloads/chat.0');
    expect(w).toMatchObject({ kind: 'service', priorityClass: 'inference', priority: 400, preemptible: false, replicas: 1 });

    await heartbeat([running(a0!, 9000), running(a1!, 9001, false)]);
    expect(await endpoints('chat')).toEqual([{ replicaId: a0!.replicaId, workload: 'chat.0', index: 0, model: 'llama-8b', version: 'v1', url: 'http://10.0.0.9:9000', node: 'n1' }]);
    await heartbeat([running(a0!, 9000), running(a1!, 9001)]);
    expect((await endpoints('chat')).map((e) => e.url)).toEqual(['http://10.0.0.9:9000', 'http://10.0.0.9:9001']);
    const listed = await admin.request<{ items: Service[] }>('GET', '/v1/services');
    expect(listed.items.find((s) => s.name === 'chat')).toMatchObject({ readyReplicas: 2 });
    expect((await put('chat', { model: 'llama-8b', replicas: 2, gpus: 1, command: ['serve'] })).result).toBe('unchanged');
  });

  it('restarts a replica that ended, after a backoff, as a new generation; the service never completes', async () => {
    const [a0, a1] = await assignmentsOf('chat', 2);
    await heartbeat([{ replicaId: a0!.replicaId, generation: a0!.generation, state: 'succeeded', exitCode: 0, endpoint: 'http://10.0.0.9:9000', ready: false }, running(a1!, 9001)]);
    const waiting = await admin.request<Workload>('GET', '/v1/workloads/chat.0');
    expect(waiting.state).toBe('pending');
    expect(waiting.reason).toMatch(/^restarting in 1 s: exited with code 0/);
    expect((await endpoints('chat')).map((e) => e.workload)).toEqual(['chat.1']);
    const again = await until(async () => {
      const a = (await heartbeat([running(a1!, 9001)])).assignments.find((x) => x.workloadName === 'chat.0' && x.generation > a0!.generation);
      return a;
    }, 1000);
    await heartbeat([running(again, 9002), running(a1!, 9001)]);
    const service = await admin.request<Service>('GET', '/v1/services/chat');
    expect(service.replicaStatus.map((r) => [r.workload, r.state, r.ready, r.restarts])).toEqual([
      ['chat.0', 'running', true, 1],
      ['chat.1', 'running', true, 0],
    ]);
  });

  it('scales down by draining the slots above the count (out of the endpoints at once), then stopping them', async () => {
    expect((await put('chat', { model: 'llama-8b', replicas: 1, gpus: 1, command: ['serve'] })).result).toBe('updated');
    expect((await admin.request<Workload>('GET', '/v1/workloads/chat.1')).reason).toMatch(/^draining: scaled to 1/);
    expect((await endpoints('chat')).map((e) => e.workload)).toEqual(['chat.0']);
    // Its replica does not answer for its load here, so it is stopped once the settle time has passed.
    await until(async () => ((await admin.request<Workload>('GET', '/v1/workloads/chat.1')).state === 'cancelled' ? true : undefined), 3000);
    expect((await admin.request<Workload>('GET', '/v1/workloads/chat.0')).state).toBe('running');
  }, 30_000);

  it('starts a canary beside the stable replicas when the version changes; abort rolls it back', async () => {
    const { service } = await put('chat', { model: 'llama-8b', version: 'v2', replicas: 1, gpus: 1, command: ['serve'] });
    expect(service.rollout).toMatchObject({ phase: 'progressing', strategy: 'canary', stableVersion: 'v1', canaryVersion: 'v2', weight: 10 });
    expect(service.weights).toEqual({ v1: 90, v2: 10 });
    const canary = await until(async () => (await heartbeat()).assignments.find((a) => a.service?.version === 'v2' && a.desired === 'run'));
    expect(canary.workloadName).toMatch(/^chat\.[12]$/);
    expect((await endpoints('chat')).map((e) => e.version)).toEqual(['v1']);
    expect(await failure(put('chat', { model: 'llama-8b', version: 'v3', replicas: 1, gpus: 1, command: ['serve'] }))).toEqual({ status: 409, paths: ['version'] });
    const aborted = await admin.request<Record<string, unknown>>('POST', '/v1/services/chat/rollout/abort');
    expect(aborted).toMatchObject({ version: 'v1', weights: { v1: 100 }, rollout: { phase: 'rolled-back', message: expect.stringMatching(/rolled back by/) } });
    expect((await admin.request<Workload>('GET', `/v1/workloads/${canary.workloadId}`)).state).toBe('cancelled');
    expect((await failure(admin.request('POST', '/v1/services/chat/rollout/promote'))).status).toBe(409);
  });

  it('promotes on request once the new version is ready; the old replica drains', async () => {
    await put('chat', { model: 'llama-8b', version: 'v2', replicas: 1, gpus: 1, command: ['serve'] });
    const canary = await until(async () => (await heartbeat()).assignments.find((a) => a.service?.version === 'v2' && a.desired === 'run'));
    const asked = await admin.request<{ rollout: { phase: string; message: string } }>('POST', '/v1/services/chat/rollout/promote');
    expect(asked.rollout).toMatchObject({ phase: 'progressing', message: expect.stringMatching(/promotion requested by .*: waiting for v2's replicas/) });
    const stable = (await endpoints('chat')).find((e) => e.version === 'v1')!;
    await heartbeat([running(canary, 9100), { replicaId: stable.replicaId, generation: 1, state: 'running', endpoint: stable.url, ready: true }]);
    const done = await until(async () => {
      const r = await admin.request<{ version: string; weights: Record<string, number>; rollout: { phase: string; message: string } }>('GET', '/v1/services/chat/rollout');
      return r.rollout.phase === 'promoted' ? r : undefined;
    }, 1500);
    expect(done).toMatchObject({ version: 'v2', weights: { v2: 100 }, rollout: { message: expect.stringMatching(/v2 promoted by .* once its replicas were ready/) } });
    expect((await endpoints('chat')).map((e) => e.version)).toEqual(['v2']);
    await until(async () => ((await admin.request<Workload>('GET', `/v1/workloads/${stable.workload}`)).state === 'cancelled' ? true : undefined), 3000);
  }, 60_000);

  it('replaces every slot at once when the spec changes but not the version', async () => {
    // The replicas told to stop end, as an agent would report, so their GPUs are free again.
    const stopping = (await heartbeat()).assignments.filter((a) => a.desired === 'stop');
    await heartbeat(stopping.map((a) => ({ replicaId: a.replicaId, generation: a.generation, state: 'stopped' })));
    const before = await admin.request<Workload>('GET', `/v1/workloads/${(await endpoints('chat'))[0]!.workload}`);
    await put('chat', { model: 'llama-8b', version: 'v2', replicas: 1, gpus: 1, command: ['serve', '--new-flag'] });
    expect((await admin.request<Workload>('GET', `/v1/workloads/${before.id}`)).state).toBe('cancelled');
    const [fresh] = await assignmentsOf('chat', 1);
    expect(fresh!.workloadId).not.toBe(before.id);
    expect(await endpoints('chat')).toEqual([]);
  });

  it('refuses bad input with a 4xx naming the field', async () => {
    expect(await failure(put('other', { model: 'llama-8b', command: ['x'] }))).toEqual({ status: 409, paths: ['model'] });
    expect(await failure(put('bad', { model: 'has space', port: 0, replicas: -1, readiness: { path: 'x' }, command: [] }))).toEqual({
      status: 400,
      paths: expect.arrayContaining(['model', 'port', 'replicas', 'readiness.path', 'command']),
    });
    expect((await failure(admin.request('POST', '/v1/workloads/chat.0/cancel'))).status).toBe(409);
    expect((await failure(admin.request('GET', '/v1/services/nope'))).status).toBe(404);
  });

  it('deletes a service: its replicas are stopped and its model is free again', async () => {
    await admin.request('DELETE', '/v1/services/chat');
    expect((await failure(admin.request('GET', '/v1/services/chat'))).status).toBe(404);
    await until(async () => ((await heartbeat()).assignments.every((a) => !a.workloadName.startsWith('chat.') || a.desired === 'stop') ? true : undefined));
    expect((await put('other', { model: 'llama-8b', command: ['x'] })).result).toBe('created');
  });
});
