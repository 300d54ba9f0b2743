import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from './main.js';
import { OtlpReceiver } from '../../test/support/otlp-receiver.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

/** A request's log line and its span name the same trace, and the workload a route is about. */
describe('request log lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-request-logs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('carry the request id, the trace id of the span and the workload', async () => {
    const receiver = new OtlpReceiver();
    await receiver.start();
    const logFile = join(dir, 'server.log');
    const server = await startServer({ port: 0, dataDir: 'memory://', logLevel: 'debug', logFile, schedulerIntervalMs: 60_000, otlpTracesUrl: `${receiver.url}/v1/traces` });
    try {
      const res = await fetch(`${server.url}/v1/workloads/ghost/explain`, {
        headers: { authorization: `Bearer ${server.bootstrap!.adminToken}`, traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(res.status).toBe(404);
    } finally {
      await server.close();
      await receiver.stop();
    }
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.msg === 'request' && l.route === '/v1/workloads/:ref/explain');
    expect(line).toMatchObject({ status: 404, trace_id: traceId, workload: 'ghost', request_id: expect.any(String) });
    const span = receiver.spans.find((s) => s.name === 'GET /v1/workloads/:ref/explain');
    expect(span).toMatchObject({ traceId, spanId: line!.span_id, attributes: { 'gpufleet.workload': 'ghost' } });
  });
});

/** Without an OTLP endpoint every line written while serving a request still names it and its trace. */
describe('request log lines without tracing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-untraced-logs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('carry the request id and a W3C trace (the caller’s, or a new one answered in traceparent), also on lines written by a handler', async () => {
    const logFile = join(dir, 'server.log');
    const server = await startServer({ port: 0, dataDir: 'memory://', logLevel: 'debug', logFile, schedulerIntervalMs: 60_000 });
    const auth = { authorization: `Bearer ${server.bootstrap!.adminToken}` };
    let workloadId: string;
    let continued: string | null;
    let fresh: string | null;
    try {
      const submit = await fetch(`${server.url}/v1/workloads`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'logged', gpus: 1, command: ['true'] }),
      });
      expect(submit.status).toBe(201);
      workloadId = ((await submit.json()) as { id: string }).id;
      // By name: the line of the cancellation names the id it resolved to.
      const cancel = await fetch(`${server.url}/v1/workloads/logged/cancel`, { method: 'POST', headers: { ...auth, traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
      expect(cancel.status).toBe(200);
      continued = cancel.headers.get('traceparent');
      const list = await fetch(`${server.url}/v1/workloads`, { headers: auth });
      expect(list.status).toBe(200);
      fresh = list.headers.get('traceparent');
    } finally {
      await server.close();
    }
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

    // The caller's trace continues under a span id of the server's own, the same in the header and the lines.
    expect(continued).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const spanId = continued!.split('-')[2];
    expect(spanId).not.toBe('00f067aa0ba902b7');
    const cancelled = lines.find((l) => l.msg === 'workload cancelled');
    expect(cancelled).toMatchObject({ trace_id: traceId, span_id: spanId, workload: 'logged', workload_id: workloadId, request_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const cancelRequest = lines.find((l) => l.msg === 'request' && l.route === '/v1/workloads/:ref/cancel');
    expect(cancelRequest).toMatchObject({ status: 200, request_id: cancelled!.request_id, trace_id: traceId, span_id: spanId, workload_id: workloadId });
    // The submission's line names the workload it created.
    expect(lines.find((l) => l.msg === 'request' && l.method === 'POST' && l.route === '/v1/workloads')).toMatchObject({ status: 201, workload_id: workloadId });

    // No traceparent: a new valid trace, answered to the caller and written on the line.
    expect(fresh).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    const [, freshTrace, freshSpan] = fresh!.split('-');
    expect(freshTrace).not.toMatch(/^0+$/);
    const listed = lines.find((l) => l.msg === 'request' && l.method === 'GET' && l.route === '/v1/workloads');
    expect(listed).toMatchObject({ trace_id: freshTrace, span_id: freshSpan });
    expect(listed!.request_id).not.toBe(cancelled!.request_id);
    // Lines outside any request carry none of it.
    expect(lines.find((l) => l.msg === 'server started')).not.toHaveProperty('request_id');
    // Every line is in the file once close resolves, the last one too.
    expect(lines.at(-1)).toMatchObject({ msg: 'server stopped' });
  });
});
