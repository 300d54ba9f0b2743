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
