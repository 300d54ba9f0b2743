import { isDeepStrictEqual } from 'node:util';
import { GpufleetClient } from '../client/api-client.js';
import type { Service } from '../core/service-types.js';
import type { Logger } from '../observe/logger.js';
import type { RoutingTableSnapshot } from './routing-table.js';

/**
 * The routing table from the server's services: model → version → ready endpoints. A model whose
 * service has no ready replica stays in the table with none, so callers get 503 (wait and retry),
 * not 404 (no such model).
 */
export function tableFromServices(services: readonly Service[], revision?: number): RoutingTableSnapshot {
  const models = new Map<string, Map<string, Array<{ id: string; url: string }>>>();
  for (const s of services) {
    const versions = models.get(s.model) ?? new Map<string, Array<{ id: string; url: string }>>();
    if (!versions.has(s.version)) versions.set(s.version, []);
    for (const e of s.endpoints) {
      const replicas = versions.get(e.version) ?? [];
      replicas.push({ id: e.replicaId, url: e.url });
      versions.set(e.version, replicas);
    }
    models.set(s.model, versions);
  }
  return {
    ...(revision === undefined ? {} : { revision }),
    models: [...models].map(([model, versions]) => ({ model, versions: [...versions].map(([version, replicas]) => ({ version, weight: 1, replicas })) })),
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
