import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../control/main.js';
import { HttpClient } from '../client/http.js';
import type { DesiredState, RegisterResponse } from '../core/agent-protocol.js';
import { createLogger } from '../observe/logger.js';
import { startSimModel, type SimModel } from '../sim-model/main.js';
import { startGateway, type Gateway } from './main.js';
import { tableFromServices } from './service-feed.js';
import type { Service } from '../core/service-types.js';

const quiet = createLogger({ name: 'test', level: 'silent' });

/** The gateway fed by a real server: its table follows the services' ready replicas, and API keys are the server's tokens. */
describe('gateway fed by the server', () => {
  let server: RunningServer;
  let admin: HttpClient;
  let node: HttpClient;
  let sim: SimModel;
  let gateway: Gateway;
  let memberKey = '';

  const heartbeat = (replicas: unknown[] = []) => node.request<DesiredState>('POST', '/v1/agent/heartbeat', { body: { replicas } });
  const chat = (key: string | null, model = 'feed-model') =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
    });
  const replicasInTable = async () => /gpufleet_gateway_replicas\{model="feed-model",version="v1"[^}]*\} (\d+)/.exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1];
  const poll = async (what: string, probe: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await probe()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    server = await startServer({ port: 0, dataDir: 'memory://', logLevel: 'silent', schedulerIntervalMs: 100, nodeSuspectAfterMs: 60_000, nodeLostAfterMs: 120_000 });
    admin = new HttpClient({ baseUrl: server.url, token: server.bootstrap!.adminToken });
    const res = await new HttpClient({ baseUrl: server.url }).request<RegisterResponse>('POST', '/v1/agent/register', {
      body: { joinToken: server.bootstrap!.joinToken, name: 'n1', gpus: [{ index: 0, uuid: 'GPU-0', model: 'L4-24GB', memoryMiB: 24576 }], simulated: true, labels: {}, cpus: 0, memoryMiB: 0, agentVersion: 'test' },
    });
    node = new HttpClient({ baseUrl: server.url, token: res.credential });
    memberKey = (await admin.request<{ token: string }>('POST', '/v1/tokens', { body: { name: 'app', role: 'member', team: 'default' } })).token;
    sim = await startSimModel({ port: 0, logger: quiet, config: { model: 'feed-model', ttftOverheadMs: 1, prefillMsPerToken: 0, decodeMsPerToken: 1 } });
    gateway = await startGateway({ port: 0, logger: quiet, server: { url: server.url, token: server.bootstrap!.adminToken, refreshMs: 50 } });
  });
  afterAll(async () => {
    await gateway?.close();
    await sim?.close();
    await server?.close();
  });

  it('answers 503 while the service has no ready replica, then routes to it once its agent reports it ready', async () => {
    await admin.request('PUT', '/v1/services/feed', { body: { model: 'feed-model', gpus: 1, command: ['serve'] } });
    await poll('the model in the table', async () => (await replicasInTable()) === '0');
    expect((await chat(memberKey)).status).toBe(503);
    let assignment: DesiredState['assignments'][number] | undefined;
    await poll('the assignment', async () => (assignment = (await heartbeat()).assignments[0]) !== undefined);
    await heartbeat([{ replicaId: assignment!.replicaId, generation: assignment!.generation, state: 'running', endpoint: sim.url, ready: true }]);
    await poll('the replica in the table', async () => (await replicasInTable()) === '1');
    const ok = await chat(memberKey);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { model: string }).model).toBe('feed-model');
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/gpufleet_gateway_requests_total\{model="feed-model",version="v1",team="default",status="200"[^}]*\} 1/);
  });

  it('refuses a missing or unknown API key with 401, and lists models only to a known key', async () => {
    const missing = await chat(null);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    expect((await chat('gfa_not-a-key')).status).toBe(401);
    expect((await fetch(`${gateway.url}/v1/models`)).status).toBe(401);
    const models = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${memberKey}` } });
    expect(((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(['feed-model']);
  });

  it('keeps the last table (and accepted keys) while the server cannot be reached', async () => {
    await server.close();
    await new Promise((r) => setTimeout(r, 200));
    expect(await replicasInTable()).toBe('1');
    expect((await chat(memberKey)).status).toBe(200);
  });
});

describe('tableFromServices', () => {
  it('splits a model between versions as the service’s rollout weighs them, and holds requests for an autoscaled one', () => {
    const svc = {
      name: 'a', model: 'm', version: 'v2', spec: { autoscaling: { min: 0, max: 2, target: 1 } }, weights: { v1: 90, v2: 10 },
      endpoints: [{ replicaId: 'r1', url: 'http://h:1', version: 'v1' }, { replicaId: 'r2', url: 'http://h:2', version: 'v2' }],
    } as unknown as Service;
    expect(tableFromServices([svc])).toEqual({
      models: [{ model: 'm', holdWhenEmpty: true, versions: [{ version: 'v1', weight: 90, replicas: [{ id: 'r1', url: 'http://h:1' }] }, { version: 'v2', weight: 10, replicas: [{ id: 'r2', url: 'http://h:2' }] }] }],
    });
  });

  it('groups ready endpoints by model and version, and keeps a model with none', () => {
    const svc = (name: string, model: string, endpoints: Array<[string, string]>) =>
      ({ name, model, version: 'v1', spec: {}, weights: { v1: 100 }, endpoints: endpoints.map(([replicaId, url]) => ({ replicaId, url, version: 'v1' })) }) as unknown as Service;
    expect(tableFromServices([svc('a', 'm-a', [['r1', 'http://h:1'], ['r2', 'http://h:2']]), svc('b', 'm-b', [])])).toEqual({
      models: [
        { model: 'm-a', versions: [{ version: 'v1', weight: 100, replicas: [{ id: 'r1', url: 'http://h:1' }, { id: 'r2', url: 'http://h:2' }] }] },
        { model: 'm-b', versions: [{ version: 'v1', weight: 100, replicas: [] }] },
      ],
    });
  });
});
