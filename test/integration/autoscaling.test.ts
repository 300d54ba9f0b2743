import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, GatewayProcess, ServerProcess, repoRoot, waitFor } from '../support/fleet.js';
import type { HttpClient } from '../../src/client/http.js';
import type { Service } from '../../src/core/service-types.js';

const bin = join(repoRoot, 'bin', 'gpufleet.js');
const model = 'e2e-lazy';

/** Real processes: server, agent with sim-model replicas, gateway; a service that scales with its load and to zero. */
describe('an autoscaled service', () => {
  let server: ServerProcess;
  let agent: AgentProcess;
  let gateway: GatewayProcess;
  let admin: HttpClient;
  let key = '';

  const service = () => admin.request<Service>('GET', '/v1/services/lazy');
  const chat = (body: Record<string, unknown> = {}) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, ...body }),
    });

  beforeAll(async () => {
    server = await new ServerProcess().start();
    agent = await new AgentProcess(server, 'gpu-node-1', '4xH100-80GB').start();
    admin = server.client();
    key = (await admin.request<{ token: string }>('POST', '/v1/tokens', { body: { name: 'lazy-app', role: 'member', team: 'default' } })).token;
    gateway = await new GatewayProcess(server, ['--cold-start-timeout-ms', '150000']).start();
    await admin.request('PUT', '/v1/services/lazy', {
      body: {
        model,
        gpus: 1,
        autoscaling: { min: 0, max: 2, target: 2, scaleToZeroAfterSeconds: 6, scaleDownWindowSeconds: 4 },
        command: [process.execPath, bin, 'sim-model', '--model', model, '--decode-ms-per-token', '40', '--log-level', 'warn'],
        gracePeriodSeconds: 5,
      },
    });
  }, 180_000);
  afterAll(async () => {
    await gateway?.stop();
    await agent?.stop();
    await server?.stop();
  });

  it('starts at one replica and scales to zero once idle', async () => {
    expect((await service()).replicas).toBe(1);
    await waitFor('a ready replica', async () => (await service()).readyReplicas === 1, 120_000, 250);
    await waitFor('the idle service to scale to zero', async () => {
      const s = await service();
      return s.replicas === 0 && s.replicaStatus.length === 0;
    }, 120_000, 250);
  }, 300_000);

  it('serves the first request after scale to zero: the gateway holds it while a replica starts', async () => {
    const started = Date.now();
    const res = await chat();
    const waited = Date.now() - started;
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(4);
    console.log(`autoscaling e2e: first request after scale to zero answered in ${(waited / 1000).toFixed(1)} s (printed, not asserted)`);
    expect((await service()).replicas).toBe(1);
  }, 300_000);

  it('scales up under load to max, then back down when the load stops', async () => {
    let stop = false;
    const statuses: number[] = [];
    // Eight streams of 100 tokens at 40 ms each: about 4 in flight per replica at two replicas, above the target of 2.
    const loops = Array.from({ length: 8 }, () =>
      (async () => {
        while (!stop) {
          const res = await chat({ max_tokens: 100, stream: true });
          statuses.push(res.status);
          await res.text();
        }
      })(),
    );
    try {
      await waitFor('two ready replicas under load', async () => {
        const s = await service();
        return s.replicas === 2 && s.readyReplicas === 2;
      }, 180_000, 250);
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await waitFor('the service to scale down after the load', async () => (await service()).replicas < 2, 120_000, 250);
  }, 400_000);
});
