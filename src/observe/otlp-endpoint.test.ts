import { describe, expect, it } from 'vitest';
import { otlpTracesUrl } from './otlp-endpoint.js';

describe('otlpTracesUrl', () => {
  it('is off without a flag or an OTEL variable', () => {
    expect(otlpTracesUrl({})).toBeUndefined();
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBeUndefined();
  });

  it('appends the traces path to the general endpoint and to the flag, takes the traces endpoint as given', () => {
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom' })).toBe('http://collector:4318/custom');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://a/t', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b' })).toBe('http://a/t');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b' }, 'http://flag:4318')).toBe('http://flag:4318/v1/traces');
  });
});
