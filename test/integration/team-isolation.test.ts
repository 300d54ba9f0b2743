import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError, type HttpClient } from '../../src/client/http.js';
import { ServerProcess, submit } from '../support/fleet.js';
import type { Workload } from '../../src/core/api-types.js';

async function expectError(promise: Promise<unknown>, status: number, code?: string): Promise<ClientError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  expect((err as ClientError).status).toBe(status);
  if (code) expect((err as ClientError).code).toBe(code);
  return err as ClientError;
}

describe('teams, tokens and roles', () => {
  let server: ServerProcess;
  let admin: HttpClient;
  let alice: HttpClient;
  let bob: HttpClient;

  beforeAll(async () => {
    server = await new ServerProcess().start();
    admin = server.client();
    for (const team of ['vision', 'speech']) {
      await admin.request('PUT', `/v1/teams/${team}`, { body: {} });
      await admin.request('PUT', `/v1/queues/${team}-q`, { body: { team, quotas: [{ gpuModel: '*', guaranteed: 0, limit: 4 }] } });
    }
    const mk = async (team: string) =>
      server.client((await admin.request<{ token: string }>('POST', '/v1/tokens', { body: { name: `${team}-dev`, role: 'member', team } })).token);
    alice = await mk('vision');
    bob = await mk('speech');
  });
  afterAll(async () => server?.stop());

  it('lets a member submit only to its own team and queue', async () => {
    const job = await submit(alice, { name: 'train', command: ['true'] });
    expect(job).toMatchObject({ team: 'vision', queue: 'vision-q' });
    await expectError(submit(alice, { name: 'x', team: 'speech', command: ['true'] }), 403, 'forbidden');
    const err = await expectError(submit(alice, { name: 'y', queue: 'speech-q', command: ['true'] }), 422);
    expect(err.details?.issues?.[0]?.path).toBe('queue');
  });

  it('hides one team’s workloads from another', async () => {
    const job = await submit(bob, { name: 'asr', command: ['true'] });
    const seenByAlice = await alice.request<{ items: Workload[] }>('GET', '/v1/workloads');
    expect(seenByAlice.items.map((w) => w.team)).not.toContain('speech');
    expect(seenByAlice.items.length).toBeGreaterThan(0);
    await expectError(alice.request('GET', `/v1/workloads/${job.id}`), 404, 'not_found');
    await expectError(alice.request('POST', `/v1/workloads/${job.id}/cancel`), 404, 'not_found');
    await expectError(alice.request('GET', `/v1/workloads/${job.id}/logs`), 404, 'not_found');
    await expectError(alice.request('GET', '/v1/teams/speech'), 404);
    expect((await alice.request<{ items: unknown[] }>('GET', '/v1/queues')).items).toHaveLength(1);
    const all = await admin.request<{ items: Workload[] }>('GET', '/v1/workloads');
    expect(new Set(all.items.map((w) => w.team))).toEqual(new Set(['vision', 'speech']));
  });

  it('applies a queue idempotently: the same spec again is unchanged', async () => {
    const spec = { team: 'vision', priority: 3, quotas: [{ gpuModel: 'H100-80GB', guaranteed: 2, limit: 4, overQuotaWeight: 2 }] };
    expect((await admin.request<{ result: string }>('PUT', '/v1/queues/idem', { body: spec })).result).toBe('created');
    expect((await admin.request<{ result: string }>('PUT', '/v1/queues/idem', { body: spec })).result).toBe('unchanged');
    expect((await admin.request<{ result: string }>('PUT', '/v1/queues/idem', { body: { ...spec, priority: 4 } })).result).toBe('updated');
    await admin.request('DELETE', '/v1/queues/idem');
  });

  it('keeps admin actions for admins', async () => {
    await expectError(alice.request('PUT', '/v1/teams/mine', { body: {} }), 403, 'forbidden');
    await expectError(alice.request('POST', '/v1/tokens', { body: { name: 'x', role: 'admin' } }), 403);
    await expectError(alice.request('PUT', '/v1/queues/vision-q', { body: { team: 'vision', quotas: [] } }), 403);
  });

  it('rejects missing, wrong and agent tokens on user routes', async () => {
    await expectError(server.client('').request('GET', '/v1/workloads'), 401, 'unauthenticated');
    await expectError(server.client('gfa_not-a-real-token').request('GET', '/v1/workloads'), 401, 'unauthenticated');
    await expectError(alice.request('POST', '/v1/agent/heartbeat', { body: { replicas: [] } }), 403);
  });

  it('answers bad input with 4xx naming the field, never 5xx', async () => {
    const bad: Array<[string, string, unknown]> = [
      ['POST', '/v1/workloads', { gpus: -1, command: ['x'] }],
      ['POST', '/v1/workloads', { gpus: 2.5, command: ['x'] }],
      ['POST', '/v1/workloads', { command: [] }],
      ['POST', '/v1/workloads', { command: ['x'], env: { 'BAD-NAME': 'v' } }],
      ['POST', '/v1/workloads', { command: ['x'], surprise: true }],
      ['POST', '/v1/workloads', { name: 'Not_A_Name', command: ['x'] }],
      ['PUT', '/v1/queues/q1', { team: 'vision', quotas: [{ gpuModel: 'H100-80GB', guaranteed: 4, limit: 2 }] }],
      ['PUT', '/v1/queues/q1', { team: 'nope', quotas: [] }],
      ['PUT', '/v1/queues/BAD', { team: 'vision' }],
      ['POST', '/v1/tokens', { name: 'x', role: 'member' }],
    ];
    for (const [method, path, body] of bad) {
      const err = await admin.request(method, path, { body }).then(
        () => undefined,
        (e: unknown) => e as ClientError,
      );
      expect(err, `${method} ${path} ${JSON.stringify(body)} must be refused`).toBeInstanceOf(ClientError);
      if (!err) continue;
      expect(err.status, `${method} ${path} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
      expect(err.status).toBeLessThan(500);
      expect(err.details?.issues?.length ?? 0, `${method} ${path} names a field`).toBeGreaterThan(0);
    }
    const raw = await fetch(`${server.url}/v1/workloads`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: '{not json' });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({ code: 'invalid_request' });
  });

  it('refuses a second active workload with the same name in a team, but not across teams', async () => {
    await submit(alice, { name: 'same', command: ['sleep', '60'] });
    await expectError(submit(alice, { name: 'same', command: ['true'] }), 409, 'conflict');
    await submit(bob, { name: 'same', command: ['true'] });
  });

  it('lets an admin name a workload without its team when the name is unique across teams', async () => {
    expect((await admin.request<Workload>('GET', '/v1/workloads/asr')).team).toBe('speech');
    await expectError(admin.request('GET', '/v1/workloads/same'), 409, 'conflict');
    expect((await admin.request<Workload>('GET', '/v1/workloads/same', { query: { team: 'speech' } })).team).toBe('speech');
  });

  it('publishes an OpenAPI document of these routes', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/workloads', '/v1/workloads/{ref}/logs', '/v1/queues/{name}', '/v1/agent/heartbeat']));
  });
});
