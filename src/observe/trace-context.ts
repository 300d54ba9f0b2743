import { randomFillSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Span } from '@opentelemetry/api';

/** The W3C trace context of one request as this process serves it: its trace, its own span id, the flags. */
export interface RequestTrace {
  traceId: string;
  spanId: string;
  /** Two hex digits; `01` when sampled. */
  flags: string;
}

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The caller's `traceparent` when it is valid W3C trace context (version ff and all-zero ids are not). */
export function parseTraceparent(header: string | string[] | undefined): { traceId: string; parentSpanId: string; flags: string } | null {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : traceparentPattern.exec(value.trim());
  if (!match) return null;
  const [, version, traceId, parentSpanId, flags, rest] = match;
  // Version 00 has exactly four fields; a later version may add more after a dash.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (/^0+$/.test(traceId!) || /^0+$/.test(parentSpanId!)) return null;
  return { traceId: traceId!, parentSpanId: parentSpanId!, flags: flags! };
}

/**
 * Random bytes drawn a block at a time: a proxied request takes three ids, and a draw per id (a
 * buffer and a call into the crypto library each) was about 8 % of the gateway's CPU under load.
 */
const pool = Buffer.alloc(4096);
let drawn = pool.length;

/** Random hex of `bytes` bytes, never all zeros (which W3C trace context reserves as invalid). */
function randomId(bytes: number): string {
  for (;;) {
    if (drawn + bytes > pool.length) {
      randomFillSync(pool);
      drawn = 0;
    }
    const id = pool.toString('hex', drawn, (drawn += bytes));
    if (!/^0+$/.test(id)) return id;
  }
}

export const newSpanId = (): string => randomId(8);

/** A request's id in log lines: random, so ids from several processes and restarts never collide. */
export const newRequestId = (): string => randomId(8);

/**
 * A request's trace context: its span's when traced; otherwise the caller's trace (or a new one)
 * with a span id of its own, so log lines and the `traceparent` answered carry ids whether or not
 * spans are exported.
 */
export function requestTrace(headers: IncomingHttpHeaders, span: Span | undefined): RequestTrace {
  if (span) {
    const { traceId, spanId, traceFlags } = span.spanContext();
    return { traceId, spanId, flags: traceFlags.toString(16).padStart(2, '0') };
  }
  const parent = parseTraceparent(headers.traceparent);
  // Nothing is recorded without tracing, so the sampled flag is the caller's decision passed on.
  return parent ? { traceId: parent.traceId, spanId: newSpanId(), flags: parent.flags } : { traceId: randomId(16), spanId: newSpanId(), flags: '00' };
}

export function formatTraceparent(trace: RequestTrace): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}

/** The ids a log line carries so it can be found next to its trace. */
export function traceFields(trace: RequestTrace): { trace_id: string; span_id: string } {
  return { trace_id: trace.traceId, span_id: trace.spanId };
}
