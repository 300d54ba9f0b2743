import { randomUUID } from 'node:crypto';
import { GpufleetClient } from '../client/api-client.js';
import type { CumulativeHistogram, GatewayReport, VersionCounters } from '../core/gateway-report.js';
import type { Logger } from '../observe/logger.js';
import type { GatewayMetrics } from './metrics.js';

/** Refusals of the gateway's own: no replica of that version answered them. */
const ownRefusals = new Set(['rate_limited', 'no_replica', 'all_replicas_failed', 'cold_start_timeout', 'cold_start_queue_full']);

/**
 * The gateway's per-version counters, summed over teams: requests a replica answered, the errors
 * among them (5xx, or a stream broken after it began), and the TTFT and inter-token histograms.
 */
export async function versionCounters(metrics: GatewayMetrics): Promise<Map<string, Map<string, VersionCounters>>> {
  const out = new Map<string, Map<string, VersionCounters>>();
  const entry = (model: string, version: string): VersionCounters => {
    let versions = out.get(model);
    if (versions === undefined) out.set(model, (versions = new Map()));
    let c = versions.get(version);
    if (c === undefined) versions.set(version, (c = { requests: 0, errors: 0, ttft: { le: [], counts: [] }, itl: { le: [], counts: [] } }));
    return c;
  };
  for (const v of (await metrics.requests.get()).values) entry(String(v.labels.model), String(v.labels.version)).requests += v.value;
  for (const v of (await metrics.errors.get()).values) {
    const reason = String(v.labels.reason);
    const c = entry(String(v.labels.model), String(v.labels.version));
    if (ownRefusals.has(reason)) c.requests -= v.value;
    else if (reason.startsWith('upstream_5') || reason === 'stream_broken') c.errors += v.value;
  }
  await readHistogram(metrics.ttft, entry, (c, h) => (c.ttft = h));
  await readHistogram(metrics.interToken, entry, (c, h) => (c.itl = h));
  for (const versions of out.values()) for (const [version, c] of versions) if (version === 'none' || c.requests < 0) versions.delete(version);
  return out;
}

/** A prom-client histogram's buckets, summed over teams, per model and version. */
async function readHistogram(
  histogram: GatewayMetrics['ttft'],
  entry: (model: string, version: string) => VersionCounters,
  set: (c: VersionCounters, h: CumulativeHistogram) => void,
): Promise<void> {
  const buckets = new Map<VersionCounters, Map<number, number>>();
  for (const v of (await histogram.get()).values) {
    if (!v.metricName?.endsWith('_bucket')) continue;
    const c = entry(String(v.labels.model), String(v.labels.version));
    const bound = (v.labels as Record<string, string | number | undefined>).le;
    const le = bound === '+Inf' ? Infinity : Number(bound);
    const byLe = buckets.get(c) ?? new Map<number, number>();
    byLe.set(le, (byLe.get(le) ?? 0) + v.value);
    buckets.set(c, byLe);
  }
  for (const [c, byLe] of buckets) {
    const les = [...byLe.keys()].sort((a, b) => a - b);
    set(c, { le: les.filter(Number.isFinite), counts: les.map((le) => byLe.get(le)!) });
  }
}

export interface ReporterOptions {
  serverUrl: string;
  token: string;
  intervalMs: number;
  metrics: GatewayMetrics;
  held: () => ReadonlyMap<string, number>;
  logger: Logger;
}

/**
 * Sends the server this gateway's counters and held requests every interval, and at once when a
 * model gets its first held request (a cold start should not wait for the next tick).
 */
export class GatewayReporter {
  readonly id = `gw-${randomUUID()}`;
  private readonly client: GpufleetClient;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private again = false;
  private failing = false;

  constructor(private readonly options: ReporterOptions) {
    this.client = new GpufleetClient({ baseUrl: options.serverUrl, token: options.token, userAgent: 'gpufleet-gateway' });
  }

  start(): void {
    this.timer = setInterval(() => this.soon(), this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sending;
  }

  soon(): void {
    if (this.sending) {
      this.again = true;
      return;
    }
    this.sending = this.send().finally(() => {
      this.sending = undefined;
      if (this.again) {
        this.again = false;
        this.soon();
      }
    });
  }

  private async send(): Promise<void> {
    const counters = await versionCounters(this.options.metrics);
    const held = this.options.held();
    const models = new Set([...counters.keys(), ...held.keys()]);
    models.delete('unknown');
    const report: GatewayReport = {
      gateway: this.id,
      models: [...models].map((model) => ({
        model,
        waiting: held.get(model) ?? 0,
        versions: [...(counters.get(model) ?? new Map<string, VersionCounters>())].map(([version, c]) => ({ version, counters: c })),
      })),
    };
    try {
      await this.client.reportGateway(report, AbortSignal.timeout(5000));
      if (this.failing) this.options.logger.info('the server takes gateway reports again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.options.logger.warn({ err: (err as Error).message }, 'cannot report to the server (rollouts and scale from zero wait for it)');
      this.failing = true;
    }
  }
}
