import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { AgentProcess, GatewayProcess, ServerProcess, repoRoot, waitFor } from '../support/fleet.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import type { Service } from '../../src/core/service-types.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;

describe('tracing: spans exported over OTLP/HTTP to a collector', () => {
  const receiver = new OtlpReceiver();
  let server: ServerProcess;
  let agent: AgentProcess | undefined;
  let gateway: GatewayProcess | undefined;

  beforeAll(async () => {
    await receiver.start();
    // Batches go out every 50 ms instead of every 5 s; the child processes inherit it.
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
    server = await new ServerProcess({ extraArgs: ['--otlp-endpoint', receiver.url] }).start();
  }, 90_000);

  afterAll(async () => {
    await gateway?.stop();
    await agent?.stop();
    await server?.stop();
    await receiver.stop();
    delete process.env.OTEL_BSP_SCHEDULE_DELAY;
  });

  const spanOf = (name: string, match: (s: ReceivedSpan) => boolean) =>
    waitFor(`a span ${name} (received: ${receiver.spans.map((s) => s.name).join(', ')})`, async () => receiver.spans.find((s) => s.name === name && match(s)));

  it('exports one server span per API request, continuing the caller’s traceparent', async () => {
    const res = await fetch(`${server.url}/v1/workloads`, { headers: { authorization: `Bearer ${server.adminToken}`, traceparent } });
    expect(res.status).toBe(200);
    const span = await spanOf('GET /v1/workloads', (s) => s.traceId === traceId);
    expect(span.service).toBe('gpufleet-server');
    expect(span.parentSpanId).toBe('00f067aa0ba902b7');
    expect(span.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/v1/workloads', 'http.response.status_code': 200 });
  });

  it('starts a new trace without a traceparent and names the workload a route is about', async () => {
    const res = await fetch(`${server.url}/v1/workloads/no-such-job`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(res.status).toBe(404);
    const span = await spanOf('GET /v1/workloads/:ref', (s) => s.attributes['gpufleet.workload'] === 'no-such-job');
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.traceId).not.toBe(traceId);
    expect(span.parentSpanId).toBe('');
    expect(span.attributes['http.response.status_code']).toBe(404);
  });

  it('follows a gateway request into the sim-model replica it was routed to', async () => {
    agent = await new AgentProcess(server, 'gpu-node-1', '1xH100-80GB').start();
    gateway = await new GatewayProcess(server, ['--otlp-endpoint', receiver.url]).start();
    const admin = server.client();
    const command = [process.execPath, join(repoRoot, 'bin', 'gpufleet.js'), 'sim-model', '--model', 'traced', '--decode-ms-per-token', '1', '--log-level', 'debug'];
    await admin.request('PUT', '/v1/services/traced', { body: { model: 'traced', replicas: 1, gpus: 1, command, gracePeriodSeconds: 1 } });
    const service = await waitFor('a ready replica', async () => {
      const s = await admin.request<Service>('GET', '/v1/services/traced');
      return s.readyReplicas === 1 && s;
    }, 90_000, 200);
    const gatewayTrace = 'a3ce929d0e0e47364bf92f3577b34da6';
    const res = await waitFor('the gateway to route the model', async () => {
      const r = await fetch(`${gateway!.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}`, traceparent: `00-${gatewayTrace}-00f067aa0ba902b7-01` },
        body: JSON.stringify({ model: 'traced', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
      });
      return r.status === 200 ? r : (await r.text(), false);
    }, 15_000, 200);
    await res.text();
    const span = await spanOf('POST /v1/chat/completions', (s) => s.traceId === gatewayTrace && s.attributes['http.response.status_code'] === 200);
    expect(span.service).toBe('gpufleet-gateway');
    expect(span.attributes).toMatchObject({ 'gpufleet.model': 'traced', 'gpufleet.version': 'v1', 'gpufleet.team': 'admin', 'gpufleet.stream': false, 'gpufleet.replica': service.endpoints[0]!.replicaId });
    // The replica's debug log (shipped by the agent) names the traceparent it received: the gateway span's.
    const workload = service.replicaStatus[0]!.workload;
    await waitFor('the traceparent in the replica output', async () => {
      const logs = await admin.request<{ entries: { data: string }[] }>('GET', `/v1/workloads/${workload}/logs`);
      return logs.entries.map((e) => e.data).join('').includes(`"traceparent":"00-${gatewayTrace}-${span.spanId}-01"`);
    }, 15_000, 200);
  }, 150_000);
});
