import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, staticTable } from '../../src/gateway/main.js';
import { startSimModel } from '../../src/sim-model/main.js';
import { createLogger } from '../../src/observe/logger.js';
import { waitFor } from '../support/fleet.js';
import { OtlpReceiver } from '../support/otlp-receiver.js';

const quiet = createLogger({ name: 'test', level: 'silent' });
const traceId = '0af7651916cd43dd8448eb211c80319c';
const traceparent = `00-${traceId}-b7ad6b7169203331-01`;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
  delete process.env.OTEL_BSP_SCHEDULE_DELAY;
});

/** A sim-model replica whose debug lines (each request's traceparent) are kept. */
async function replica(): Promise<{ url: string; traceparents: () => string[] }> {
  const lines: string[] = [];
  const logger = createLogger({ name: 'sim-model', level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  const sim = await startSimModel({ port: 0, logger, config: { model: 'm', ttftOverheadMs: 1, prefillMsPerToken: 0, decodeMsPerToken: 1 } });
  closers.push(() => sim.close());
  const traceparents = () => lines.map((l) => JSON.parse(l) as { msg: string; traceparent?: string }).filter((l) => l.msg === 'request').map((l) => l.traceparent ?? '');
  return { url: sim.url, traceparents };
}

const ask = (url: string, headers: Record<string, string>, stream = false) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream }),
  });

describe('gateway tracing', () => {
  it('exports a span per proxied request in the caller’s trace and passes its context to the model server', async () => {
    const receiver = new OtlpReceiver();
    await receiver.start();
    closers.push(() => receiver.stop());
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
    const sim = await replica();
    const gw = await startGateway({ port: 0, logger: quiet, table: staticTable({ m: [sim.url] }), otlpTracesUrl: `${receiver.url}/v1/traces` });
    closers.push(() => gw.close());

    const res = await ask(gw.url, { traceparent, 'x-gpufleet-team': 'research' }, true);
    expect(res.status).toBe(200);
    await res.text();
    const span = await waitFor('the gateway span', async () => receiver.spans.find((s) => s.traceId === traceId));
    expect(span).toMatchObject({ service: 'gpufleet-gateway', name: 'POST /v1/chat/completions', parentSpanId: 'b7ad6b7169203331' });
    expect(span.attributes).toMatchObject({ 'gpufleet.model': 'm', 'gpufleet.version': 'v1', 'gpufleet.team': 'research', 'gpufleet.stream': true, 'http.response.status_code': 200 });
    expect(String(span.attributes['gpufleet.replica'])).not.toBe('');
    // The model server got the same trace, with the gateway's span as its parent.
    expect(sim.traceparents()).toEqual([`00-${traceId}-${span.spanId}-01`]);

    const missing = await ask(gw.url, { 'x-gpufleet-team': 'research' });
    await missing.text();
    expect(sim.traceparents()[1]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const fresh = sim.traceparents()[1]!.split('-')[1];
    expect(fresh).not.toBe(traceId);
    await waitFor('the span of the request without a traceparent', async () => receiver.spans.find((s) => s.traceId === fresh && s.parentSpanId === ''));
  });

  it('without an OTLP endpoint passes the caller’s traceparent through unchanged', async () => {
    const sim = await replica();
    const gw = await startGateway({ port: 0, logger: quiet, table: staticTable({ m: [sim.url] }) });
    closers.push(() => gw.close());
    const res = await ask(gw.url, { traceparent });
    expect(res.status).toBe(200);
    await res.text();
    expect(sim.traceparents()).toEqual([traceparent]);
  });

  it('without an OTLP endpoint writes the request and trace ids on its lines and answers them in traceparent', async () => {
    const sim = await replica();
    // A replica that cannot be reached: the first try there fails and the request is retried on the other.
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ name: 'gateway', level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    const gw = await startGateway({ port: 0, logger, table: staticTable({ m: [deadUrl, sim.url] }), strategy: 'round-robin' });
    closers.push(() => gw.close());

    const answered: string[] = [];
    for (const headers of [{ traceparent }, {}, {}] as Record<string, string>[]) {
      const res = await ask(gw.url, headers);
      expect(res.status).toBe(200);
      await res.text();
      answered.push(res.headers.get('traceparent') ?? '');
    }
    const requests = await waitFor('a line per request', async () => {
      const found = lines.filter((l) => l.msg === 'request');
      return found.length === 3 && found;
    });
    // The caller's trace continues under the gateway's own span id; the model server got the caller's traceparent.
    expect(answered[0]).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(answered[0]!.split('-')[2]).not.toBe('b7ad6b7169203331');
    expect(sim.traceparents()[0]).toBe(traceparent);
    // Without one, a new trace: answered, on the lines, and passed to the model server.
    expect(answered[1]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(answered[1]!.split('-')[1]).not.toBe(answered[2]!.split('-')[1]);
    expect(sim.traceparents().slice(1)).toEqual(answered.slice(1));
    const ids = answered.map((a) => ({ trace_id: a.split('-')[1], span_id: a.split('-')[2] }));
    for (const [i, line] of requests.entries()) expect(line).toMatchObject({ model: 'm', status: 200, ...ids[i], request_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(new Set(requests.map((l) => l.request_id)).size).toBe(3);
    // The retry's warning names the request it happened in.
    const retries = lines.filter((l) => String(l.msg).startsWith('upstream connection failed'));
    expect(retries.length).toBeGreaterThan(0);
    for (const warning of retries) {
      const request = requests.find((r) => r.request_id === warning.request_id);
      expect(request).toBeDefined();
      expect(warning).toMatchObject({ trace_id: request!.trace_id, span_id: request!.span_id });
    }
  });
});
