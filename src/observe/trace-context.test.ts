import { describe, expect, it } from 'vitest';
import type { Span } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent, requestTrace } from './trace-context.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparentPattern = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

describe('trace context', () => {
  it('reads a valid W3C traceparent and refuses malformed ones', () => {
    expect(parseTraceparent(`00-${traceId}-00f067aa0ba902b7-01`)).toEqual({ traceId, parentSpanId: '00f067aa0ba902b7', flags: '01' });
    // a later version may carry more fields
    expect(parseTraceparent(`01-${traceId}-00f067aa0ba902b7-00-extra`)?.traceId).toBe(traceId);
    for (const bad of [
      undefined,
      'not-a-traceparent',
      `00-${traceId}-00f067aa0ba902b7-01-extra`,
      `ff-${traceId}-00f067aa0ba902b7-01`,
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-${traceId}-${'0'.repeat(16)}-01`,
      `00-${traceId.toUpperCase()}-00f067aa0ba902b7-01`,
    ])
      expect(parseTraceparent(bad)).toBeNull();
  });

  it('continues the caller’s trace with a span id of its own when nothing is traced', () => {
    const t = requestTrace({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` }, undefined);
    expect(t.traceId).toBe(traceId);
    expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(t.spanId).not.toBe('00f067aa0ba902b7');
    expect(formatTraceparent(t)).toBe(`00-${traceId}-${t.spanId}-01`);
  });

  it('starts a new valid trace without a usable traceparent', () => {
    const a = requestTrace({ traceparent: 'garbage' }, undefined);
    const b = requestTrace({}, undefined);
    expect(formatTraceparent(a)).toMatch(traceparentPattern);
    expect(parseTraceparent(formatTraceparent(a))).not.toBeNull();
    expect(a.traceId).not.toBe(b.traceId);
    expect(a.flags).toBe('00');
  });

  it('takes a traced request’s ids from its span', () => {
    const span = { spanContext: () => ({ traceId, spanId: '1111111111111111', traceFlags: 1 }) } as unknown as Span;
    expect(requestTrace({}, span)).toEqual({ traceId, spanId: '1111111111111111', flags: '01' });
  });
});
