import { isDeepStrictEqual } from 'node:util';
import { GpufleetClient } from '../client/api-client.js';
import type { Service } from '../core/service-types.js';
import type { Logger } from '../observe/logger.js';
import type { RoutingTableSnapshot } from './routing-table.js';

/**
 * The routing table from the server's services: model → version (weighted as the service's
 * rollout splits traffic) → ready endpoints. A model whose service has no ready replica stays in
 * the table with none, so callers get 503 (wait and retry) — or, autoscaled, are held until one
 * starts — not 404 (no such model).
 */
export function tableFromServices(services: readonly Service[], revision?: number): RoutingTableSnapshot {
  const models = new Map<string, { hold: boolean; versions: Map<string, { weight: number; replicas: Array<{ id: string; url: string }> }> }>();
  for (const s of services) {
    const entry = models.get(s.model) ?? { hold: false, versions: new Map() };
    entry.hold ||= s.spec.autoscaling !== undefined;
    const version = (v: string) => {
      let route = entry.versions.get(v);
      if (route === undefined) entry.versions.set(v, (route = { weight: s.weights[v] ?? 0, replicas: [] }));
      return route;
    };
    for (const v of Object.keys(s.weights)) version(v);
    for (const e of s.endpoints) version(e.version).replicas.push({ id: e.replicaId, url: e.url });
    models.set(s.model, entry);
  }
  return {
    ...(revision === undefined ? {} : { revision }),
    models: [...models].map(([model, { hold, versions }]) => ({
      model,
      versions: [...versions].map(([version, v]) => ({ version, weight: v.weight, replicas: v.replicas })),
      ...(hold ? { holdWhenEmpty: true } : {}),
    })),
  };
}

export interface ServiceFeedOptions {
  serverUrl: string;
  /** A token that may list every service (an admin token). */
  token: string;
  /** Default 1000. */
  intervalMs?: number;
  onTable: (table: RoutingTableSnapshot) => void;
  logger: Logger;
}

/**
 * Polls `GET /v1/services` and hands every changed table to the gateway. While the server cannot
 * be reached the last good table stays in place (replicas keep serving without the control
 * plane); one warning per outage.
 */
export class ServiceFeed {
  private readonly client: GpufleetClient;
  private readonly abort = new AbortController();
  private last: RoutingTableSnapshot | undefined;
  private revision = 0;
  private outageSince: number | null = null;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: ServiceFeedOptions) {
    this.client = new GpufleetClient({ baseUrl: options.serverUrl, token: options.token, userAgent: 'gpufleet-gateway' });
  }

  /** Resolves after the first attempt, so a gateway that starts with a reachable server starts with its table. */
  async start(): Promise<void> {
    await this.poll();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const interval = this.options.intervalMs ?? 1000;
    while (!this.abort.signal.aborted) {
      await new Promise<void>((resolve) => {
        const signal = this.abort.signal;
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, interval);
        signal.addEventListener('abort', done);
      });
      if (!this.abort.signal.aborted) await this.poll();
    }
  }

  private async poll(): Promise<void> {
    let services: Service[];
    try {
      services = await this.client.listServices(this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      if (this.outageSince === null) {
        this.outageSince = Date.now();
        this.options.logger.warn({ err: (err as Error).message }, 'cannot read services from the server; keeping the last routing table');
      }
      return;
    }
    if (this.outageSince !== null) {
      this.options.logger.info(`the server answers again after ${((Date.now() - this.outageSince) / 1000).toFixed(1)} s`);
      this.outageSince = null;
    }
    const next = tableFromServices(services);
    if (this.last !== undefined && isDeepStrictEqual(next.models, this.last.models)) return;
    this.last = { ...next, revision: ++this.revision };
    this.options.onTable(this.last);
  }
}
