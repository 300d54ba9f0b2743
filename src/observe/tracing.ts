import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { ROOT_CONTEXT, SpanKind, defaultTextMapGetter, trace, type Attributes, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';


export interface TracingOptions {
  /** `service.name` of every span: gpufleet-server, gpufleet-gateway. */
  serviceName: string;
  /** The OTLP/HTTP traces URL (otlpTracesUrl); spans are sent there as JSON in batches. */
  tracesUrl: string;
}

/**
 * Request spans for one process, loaded only when an OTLP endpoint is configured. Its own provider, not the global one: `gpufleet up` runs the
 * server and the gateway in one process, each under its own service name. Context is passed
 * explicitly (extract on the way in, inject on the way out), so no async context manager runs.
 */
export class Tracing {
  private readonly provider: BasicTracerProvider;
  private readonly tracer;
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(options: TracingOptions) {
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': options.serviceName }),
      // The batch delay and sizes follow OTEL_BSP_* when set.
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: options.tracesUrl }))],
    });
    this.tracer = this.provider.getTracer('gpufleet');
  }

  /** A server span that continues the caller's W3C `traceparent` when it sent a valid one. */
  startRequestSpan(name: string, headers: IncomingHttpHeaders, attributes: Attributes): Span {
    const parent = this.propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    return this.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  }

  /** Writes `traceparent` (and `tracestate`) for a request made on behalf of the span. */
  inject(span: Span, headers: OutgoingHttpHeaders): void {
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, {
      set: (carrier: OutgoingHttpHeaders, key, value) => {
        carrier[key] = value;
      },
    });
  }

  /** Sends what is still batched, then stops. */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}
