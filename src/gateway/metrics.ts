import { Counter, Gauge, Histogram, createRegistry, type Registry } from '../observe/metrics.js';

const ttftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const interTokenBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10];

export interface RequestLabels {
  model: string;
  version: string;
  team: string;
}

/** The gateway's series, all labelled model/version/team. */
export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'model' | 'version' | 'team' | 'status'>;
  errors: Counter<'model' | 'version' | 'team' | 'reason'>;
  retries: Counter<'model' | 'version' | 'team'>;
  ttft: Histogram<'model' | 'version' | 'team'>;
  interToken: Histogram<'model' | 'version' | 'team'>;
  tokensIn: Counter<'model' | 'version' | 'team'>;
  tokensOut: Counter<'model' | 'version' | 'team'>;
  replicas: Gauge<'model' | 'version'>;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = createRegistry('gateway');
  const labelNames = ['model', 'version', 'team'] as const;
  return {
    registry,
    requests: new Counter({ name: 'gpufleet_gateway_requests_total', help: 'Requests answered, by upstream status.', labelNames: [...labelNames, 'status'], registers: [registry] }),
    errors: new Counter({ name: 'gpufleet_gateway_errors_total', help: 'Requests that failed (5xx from upstream, no replica, broken stream).', labelNames: [...labelNames, 'reason'], registers: [registry] }),
    retries: new Counter({ name: 'gpufleet_gateway_retries_total', help: 'Requests re-sent to another replica after a connection failure.', labelNames, registers: [registry] }),
    ttft: new Histogram({ name: 'gpufleet_gateway_time_to_first_token_seconds', help: 'Request arrival to first streamed token (SSE data event).', labelNames, buckets: ttftBuckets, registers: [registry] }),
    interToken: new Histogram({ name: 'gpufleet_gateway_inter_token_latency_seconds', help: 'Time between streamed tokens as the gateway forwards them.', labelNames, buckets: interTokenBuckets, registers: [registry] }),
    tokensIn: new Counter({ name: 'gpufleet_gateway_prompt_tokens_total', help: 'Prompt tokens, from the upstream usage.', labelNames, registers: [registry] }),
    tokensOut: new Counter({ name: 'gpufleet_gateway_generation_tokens_total', help: 'Output tokens: usage when reported, else streamed token events.', labelNames, registers: [registry] }),
    replicas: new Gauge({ name: 'gpufleet_gateway_replicas', help: 'Replicas in the routing table, by model and version.', labelNames: ['model', 'version'], registers: [registry] }),
  };
}

const DATA = 'data:';

/**
 * Watches a response's bytes as they pass (it never holds them back): for SSE it counts `data:`
 * events, timing the first (TTFT) and the gaps between later ones (inter-token; events that
 * arrive in one write share the gap); for JSON it keeps a copy, capped, to read `usage` at the end.
 */
export class StreamWatcher {
  private firstAt: number | undefined;
  private lastAt = 0;
  private events = 0;
  private partial = '';
  private promptTokens: number | undefined;
  private completionTokens: number | undefined;
  private json: Buffer[] | undefined;
  private jsonBytes = 0;

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly labels: RequestLabels,
    private readonly startedAt: number,
    private readonly sse: boolean,
  ) {
    if (!sse) this.json = [];
  }

  onChunk(chunk: Buffer, now: number): void {
    if (!this.sse) {
      if (this.json !== undefined) {
        this.jsonBytes += chunk.length;
        if (this.jsonBytes > 1 << 20) this.json = undefined;
        else this.json.push(chunk);
      }
      return;
    }
    // Split on newlines; only complete lines are looked at, a partial one is carried.
    const text = this.partial + chunk.toString('latin1');
    let start = 0;
    let tokensHere = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      if (text.startsWith(DATA, start)) {
        const payload = text.slice(start + DATA.length, nl).trim();
        if (payload !== '[DONE]') {
          if (payload.includes('"usage":{')) this.readUsage(payload);
          if (isTokenEvent(payload)) tokensHere++;
        }
      }
      start = nl + 1;
    }
    this.partial = text.slice(start);
    if (this.partial.length > 1 << 16) this.partial = '';
    if (tokensHere === 0) return;
    if (this.firstAt === undefined) {
      this.firstAt = now;
      this.metrics.ttft.observe(this.labels, (now - this.startedAt) / 1000);
      tokensHere--;
      this.lastAt = now;
      this.events++;
    }
    if (tokensHere > 0) {
      const gap = (now - this.lastAt) / 1000 / tokensHere;
      for (let i = 0; i < tokensHere; i++) this.metrics.interToken.observe(this.labels, gap);
      this.events += tokensHere;
      this.lastAt = now;
    }
  }

  private readUsage(payload: string): void {
    try {
      const usage = (JSON.parse(payload) as { usage?: { prompt_tokens?: number; completion_tokens?: number } }).usage;
      if (typeof usage?.prompt_tokens === 'number') this.promptTokens = usage.prompt_tokens;
      if (typeof usage?.completion_tokens === 'number') this.completionTokens = usage.completion_tokens;
    } catch {
      // not JSON after all: ignore
    }
  }

  /** At the end of a complete response; returns the tokens it counted (prompt plus output), for rate limits. */
  finish(): number {
    if (this.json !== undefined && this.jsonBytes > 0) {
      const body = this.json.length === 1 ? this.json[0]!.toString('utf8') : Buffer.concat(this.json).toString('utf8');
      if (body.includes('"usage"')) this.readUsage(body);
    }
    if (this.promptTokens !== undefined) this.metrics.tokensIn.inc(this.labels, this.promptTokens);
    const out = this.completionTokens ?? (this.sse ? this.events : undefined);
    if (out !== undefined && out > 0) this.metrics.tokensOut.inc(this.labels, out);
    return (this.promptTokens ?? 0) + (out ?? 0);
  }
}

/** An event that carries generated text (not the opening role chunk, a bare finish chunk or usage). */
function isTokenEvent(payload: string): boolean {
  if (payload.includes('"choices":[]')) return false;
  const content = payload.indexOf('"content":"');
  if (content !== -1) return payload.charCodeAt(content + 11) !== 34; // not ""
  const text = payload.indexOf('"text":"');
  return text !== -1 && payload.charCodeAt(text + 8) !== 34;
}
