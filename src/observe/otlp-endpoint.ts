/**
 * Where spans go, from the standard OpenTelemetry variables (or a flag that stands for
 * OTEL_EXPORTER_OTLP_ENDPOINT); undefined means tracing stays off. Kept apart from the tracing
 * module so the CLI can resolve it without loading the SDK.
 */
export function otlpTracesUrl(env: NodeJS.ProcessEnv, endpointFlag?: string): string | undefined {
  const base = (endpoint: string) => `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  if (endpointFlag) return base(endpointFlag);
  // The signal-specific variable is used as given; the general one gets the signal's path (OTLP spec).
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return base(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  return undefined;
}
