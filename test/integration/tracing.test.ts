import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerProcess, waitFor } from '../support/fleet.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;

describe('tracing: spans exported over OTLP/HTTP to a collector', () => {
  const receiver = new OtlpReceiver();
  let server: ServerProcess;

  beforeAll(async () => {
    await receiver.start();
    // Batches go out every 50 ms instead of every 5 s; the child processes inherit it.
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
    server = await new ServerProcess({ extraArgs: ['--otlp-endpoint', receiver.url] }).start();
  }, 90_000);

  afterAll(async () => {
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
});
