import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, GatewayProcess, ServerProcess, isAlive, repoRoot, waitFor } from '../support/fleet.js';
import type { HttpClient } from '../../src/client/http.js';
import type { Service } from '../../src/core/service-types.js';

const bin = join(repoRoot, 'bin', 'gpufleet.js');
const model = 'e2e-chat';

interface Outcome {
  stream: boolean;
  /** A response began: status and headers came back (for a stream, maybe some events too). */
  started: boolean;
  ok: boolean;
  detail: string;
}

/** Real processes: a server, an agent that starts sim-model replicas on simulated GPUs, and `gpufleet gateway`. */
describe('a service of three replicas behind the gateway', () => {
  let server: ServerProcess;
  let agent: AgentProcess;
  let gateway: GatewayProcess;
  let admin: HttpClient;
  let key = '';

  const service = () => admin.request<Service>('GET', '/v1/services/chat');
  const replicasInTable = async () => Number(new RegExp(`gpufleet_gateway_replicas\\{model="${model}",version="v1"[^}]*\\} (\\d+)`).exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1] ?? -1);
  const request = (body: Record<string, unknown>) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'tell me about GPUs' }], max_tokens: 8, ...body }),
    });

  /** One request, classified: a failure counts against the gateway only if no response had begun. */
  const attempt = async (stream: boolean): Promise<Outcome> => {
    let res: Response;
    try {
      res = await request({ stream });
    } catch (err) {
      return { stream, started: false, ok: false, detail: `no response: ${(err as Error).message}` };
    }
    if (res.status !== 200) return { stream, started: false, ok: false, detail: `status ${res.status}: ${await res.text().catch(() => '')}` };
    try {
      const text = await res.text();
      const ok = stream ? text.includes('data: [DONE]') : (JSON.parse(text) as { usage?: { completion_tokens?: number } }).usage?.completion_tokens === 8;
      return { stream, started: true, ok, detail: ok ? '' : `incomplete: ${text.slice(-200)}` };
    } catch (err) {
      return { stream, started: true, ok: false, detail: `broken after it began: ${(err as Error).message}` };
    }
  };

  beforeAll(async () => {
    server = await new ServerProcess().start();
    agent = await new AgentProcess(server, 'gpu-node-1', '4xH100-80GB').start();
    admin = server.client();
    key = (await admin.request<{ token: string }>('POST', '/v1/tokens', { body: { name: 'chat-app', role: 'member', team: 'default' } })).token;
    gateway = await new GatewayProcess(server).start();
    await admin.request('PUT', '/v1/services/chat', {
      body: { model, replicas: 3, gpus: 1, command: [process.execPath, bin, 'sim-model', '--model', model, '--decode-ms-per-token', '5', '--log-level', 'warn'], gracePeriodSeconds: 2 },
    });
    await waitFor('three ready replicas', async () => (await service()).readyReplicas === 3, 90_000, 200);
    await waitFor('the gateway to route to all three', async () => (await replicasInTable()) === 3, 10_000, 100);
  }, 180_000);
  afterAll(async () => {
    await gateway?.stop();
    await agent?.stop();
    await server?.stop();
  });

  it('serves whole and streamed answers through the gateway, for the team of the key', async () => {
    const whole = await request({});
    expect(whole.status).toBe(200);
    expect((await whole.json()) as unknown).toMatchObject({ model, usage: { completion_tokens: 8 } });
    const streamed = await request({ stream: true, stream_options: { include_usage: true } });
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await streamed.text()).split('\n').filter((l) => l.startsWith('data: '));
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.filter((e) => e.includes('"content":"')).length).toBeGreaterThanOrEqual(8);
    expect((await request({ model: 'no-such-model' })).status).toBe(404);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`gpufleet_gateway_requests_total\\{model="${model}",version="v1",team="default",status="200"[^}]*\\} 2`));
    const unauthenticated = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model }) });
    expect(unauthenticated.status).toBe(401);
  });

  it('loses no request that had not begun when a replica is killed mid-load, and restarts that replica', async () => {
    const outcomes: Outcome[] = [];
    let stop = false;
    const loops = Array.from({ length: 8 }, (_, i) =>
      (async () => {
        while (!stop) outcomes.push(await attempt(i % 4 === 3));
      })(),
    );
    try {
      await waitFor('load to be flowing', async () => outcomes.length >= 40, 30_000);
      const before = await service();
      const victim = before.endpoints[0]!;
      const pid = agent.replicaPid(victim.replicaId);
      expect(Number.isInteger(pid) && isAlive(pid), `replica ${victim.replicaId} has a live process`).toBe(true);
      const atKill = outcomes.length;
      const killedAt = Date.now();
      process.kill(-pid, 'SIGKILL');
      await waitFor('the killed replica to be replaced by a ready one', async () => {
        const now = await service();
        const slot = now.replicaStatus.find((r) => r.workload === victim.workload);
        return now.readyReplicas === 3 && slot?.ready === true && slot.restarts >= 1 && !now.endpoints.some((e) => e.replicaId === victim.replicaId);
      }, 90_000, 200);
      await waitFor('the gateway to route to three again', async () => (await replicasInTable()) === 3, 10_000, 100);
      console.log(`serving e2e: killed replica replaced and routed to again after ${((Date.now() - killedAt) / 1000).toFixed(1)} s (printed, not asserted)`);
      const afterRestart = outcomes.length;
      await waitFor('load to flow after the restart', async () => outcomes.length >= afterRestart + 40, 30_000);
      expect(outcomes.length - atKill).toBeGreaterThan(40);
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    const lost = outcomes.filter((o) => !o.ok && !o.started);
    expect(lost, JSON.stringify(lost.slice(0, 5))).toEqual([]);
    // A whole (non-streamed) answer is sent at its end: none may fail at all.
    const wholeFailures = outcomes.filter((o) => !o.stream && !o.ok);
    expect(wholeFailures, JSON.stringify(wholeFailures.slice(0, 5))).toEqual([]);
    expect(outcomes.filter((o) => o.stream && o.ok).length).toBeGreaterThan(0);
    const broken = outcomes.filter((o) => o.stream && !o.ok).length;
    console.log(`serving e2e: ${outcomes.length} requests, ${broken} streams broken after they began (printed, not asserted)`);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/gpufleet_gateway_retries_total\{model="e2e-chat"[^}]*\} [1-9]/);
  }, 240_000);
});
