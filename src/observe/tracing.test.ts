import { describe, expect, it } from 'vitest';
import type { OutgoingHttpHeaders } from 'node:http';
import { Tracing } from './tracing.js';
import { endRequestSpan } from './request-span.js';
import { OtlpReceiver } from '../../test/support/otlp-receiver.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('Tracing', () => {
  it('continues a valid traceparent, starts a new trace for a malformed one, injects its own span, sends on shutdown', async () => {
    const receiver = new OtlpReceiver();
    await receiver.start();
    try {
      const tracing = new Tracing({ serviceName: 'unit', tracesUrl: `${receiver.url}/v1/traces` });
      const continued = tracing.startRequestSpan('GET /a', { traceparent: `00-${traceId}-00f067aa0ba902b7-01` }, { 'http.route': '/a' });
      expect(continued.spanContext().traceId).toBe(traceId);
      const fresh = tracing.startRequestSpan('GET /b', { traceparent: 'not-a-traceparent' }, {});
      expect(fresh.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(fresh.spanContext().traceId).not.toBe(traceId);

      const headers: OutgoingHttpHeaders = { traceparent: 'stale' };
      tracing.inject(continued, headers);
      expect(headers.traceparent).toBe(`00-${traceId}-${continued.spanContext().spanId}-01`);

      endRequestSpan(continued, 200);
      endRequestSpan(fresh, 503);
      await tracing.shutdown();
      expect(receiver.spans.map((s) => [s.service, s.name, s.traceId === traceId, s.attributes['http.response.status_code']])).toEqual([
        ['unit', 'GET /a', true, 200],
        ['unit', 'GET /b', false, 503],
      ]);
    } finally {
      await receiver.stop();
    }
  });
});
