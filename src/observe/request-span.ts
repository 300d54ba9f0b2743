import { SpanStatusCode, type Span } from '@opentelemetry/api';

/** What request handlers touch of tracing: the API package only, so nothing of the SDK loads when tracing is off. */
export type { Span };

/** Ends a request span with its HTTP status; a 5xx marks it failed (OTel HTTP semantic conventions). */
export function endRequestSpan(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
