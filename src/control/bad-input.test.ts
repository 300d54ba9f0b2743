import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startServer, type RunningServer } from './main.js';

/** Whatever a client sends, the answer is a success or a 4xx in the one error shape: never a 5xx. */
describe('bad input never becomes a 5xx', () => {
  let server: RunningServer;
  let nodeToken = '';
  const headers = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

  beforeAll(async () => {
    server = await startServer({ port: 0, dataDir: 'memory://', logLevel: 'silent', schedulerIntervalMs: 60_000 });
    const res = await fetch(`${server.url}/v1/agent/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ joinToken: server.bootstrap!.joinToken, name: 'n1', gpus: [], simulated: true, labels: {}, cpus: 1, memoryMiB: 1, agentVersion: 't' }),
    });
    nodeToken = ((await res.json()) as { credential: string }).credential;
  });
  afterAll(async () => server.close());

  const routes: Array<{ method: string; path: string; token: () => string }> = [
    { method: 'POST', path: '/v1/workloads', token: () => server.bootstrap!.adminToken },
    { method: 'PUT', path: '/v1/queues/fuzz', token: () => server.bootstrap!.adminToken },
    { method: 'PUT', path: '/v1/teams/fuzz', token: () => server.bootstrap!.adminToken },
    { method: 'PUT', path: '/v1/services/fuzz', token: () => server.bootstrap!.adminToken },
    { method: 'PUT', path: '/v1/clusters/fuzz', token: () => server.bootstrap!.adminToken },
    { method: 'POST', path: '/v1/tokens', token: () => server.bootstrap!.adminToken },
    { method: 'POST', path: '/v1/agent/register', token: () => '' },
    { method: 'POST', path: '/v1/agent/heartbeat', token: () => nodeToken },
    { method: 'POST', path: '/v1/agent/logs', token: () => nodeToken },
  ];

  // Bodies shaped like the real ones, with any field replaced by any JSON value.
  const near = fc.record(
    {
      name: fc.oneof(fc.string(), fc.constant('ok-name'), fc.string({ unit: 'binary' })),
      team: fc.oneof(fc.string(), fc.constant('default'), fc.constant('fuzz')),
      queue: fc.oneof(fc.string(), fc.constant('default')),
      gpus: fc.oneof(fc.integer(), fc.double(), fc.string()),
      command: fc.oneof(fc.array(fc.string({ unit: 'binary' })), fc.string(), fc.constant([])),
      env: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
      quotas: fc.array(fc.record({ gpuModel: fc.string(), guaranteed: fc.integer(), limit: fc.oneof(fc.integer(), fc.constant(null)) }, { requiredKeys: [] })),
      role: fc.oneof(fc.constant('admin'), fc.constant('member'), fc.string()),
      replicas: fc.array(fc.record({ replicaId: fc.string(), generation: fc.integer(), state: fc.string(), exitCode: fc.integer() }, { requiredKeys: [] })),
      chunks: fc.array(fc.record({ replicaId: fc.string({ unit: 'binary' }), stream: fc.constantFrom('stdout', 'stderr', 'x'), offset: fc.integer(), data: fc.string({ unit: 'binary' }) }, { requiredKeys: [] })),
      joinToken: fc.string(),
      model: fc.oneof(fc.string(), fc.constant('llama-8b')),
      port: fc.oneof(fc.integer(), fc.constant('auto'), fc.string()),
      readiness: fc.oneof(fc.record({ path: fc.oneof(fc.string(), fc.constant('/health')) }, { requiredKeys: [] }), fc.anything()),
      gpusList: fc.anything(),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(near, fc.jsonValue()).map((v) => JSON.stringify(v));

  it('answers every route with < 500 and a {code, message} error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.oneof(body, fc.string()), async (route, payload) => {
        const res = await fetch(`${server.url}${route.path}`, { method: route.method, headers: headers(route.token()), body: payload });
        expect(res.status, `${route.method} ${route.path} ${payload}`).toBeLessThan(500);
        if (res.status >= 400) expect(await res.json()).toMatchObject({ code: expect.any(String), message: expect.any(String) });
        else await res.arrayBuffer();
      }),
      { numRuns: 300 },
    );
  });

  it('names the field that holds text PostgreSQL cannot store', async () => {
    for (const [path, body, field] of [
      ['/v1/workloads', { command: ['a\u0000b'] }, 'command[0]'],
      ['/v1/workloads', { command: ['x'], env: { A: '\ud800' } }, 'env.A'],
    ] as const) {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: headers(server.bootstrap!.adminToken), body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'invalid_request', details: { issues: [{ path: field }] } });
    }
    const res = await fetch(`${server.url}/v1/workloads/a%00b`, { headers: headers(server.bootstrap!.adminToken) });
    expect(res.status).toBe(400);
  });

  it('stores process output with NUL characters, replaced', async () => {
    const res = await fetch(`${server.url}/v1/agent/logs`, {
      method: 'POST',
      headers: headers(nodeToken),
      body: JSON.stringify({ chunks: [{ replicaId: 'r-\u0000', stream: 'stdout', offset: 0, data: 'a\u0000b\ud800' }] }),
    });
    expect(res.status).toBe(204);
  });

  it('answers odd paths and queries with < 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), async (ref, query) => {
        const path = `/v1/workloads/${encodeURIComponent(ref || 'x')}/logs?after=${encodeURIComponent(query)}&waitMs=0`;
        const res = await fetch(`${server.url}${path}`, { headers: headers(server.bootstrap!.adminToken) });
        expect(res.status, path).toBeLessThan(500);
        await res.arrayBuffer();
      }),
      { numRuns: 200 },
    );
  });
});
