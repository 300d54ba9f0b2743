import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../observe/logger.js';
import type { Registry } from '../observe/metrics.js';
import { createGatewayMetrics } from './metrics.js';
import { GatewayProxy } from './proxy.js';
import { RoutingTable, type RoutingTableSnapshot } from './routing-table.js';
import { createStrategy, type StrategyName } from './strategies.js';
import { ApiKeyVerifier } from './api-keys.js';
import { ServiceFeed } from './service-feed.js';
import { RateLimiter, type RateLimits } from './rate-limits.js';
import { ColdStartHolds } from './cold-start.js';
import { GatewayReporter } from './reporter.js';

export { staticTable, type RoutingTableSnapshot, type ModelRoute, type ModelVersionRoute, type ReplicaEndpoint } from './routing-table.js';
export { strategyNames, type StrategyName } from './strategies.js';
export { loadRateLimits, type RateLimits } from './rate-limits.js';

export interface GatewayOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The starting table; with `server`, the server's services replace it. */
  table?: RoutingTableSnapshot;
  /**
   * Feed the table from this gpufleet server's services (polled every `refreshMs`, default 1000)
   * and check callers' API keys against it (the team comes from the key). The token must be able
   * to list every service (an admin token).
   */
  server?: { url: string; token: string; refreshMs?: number };
  strategy?: StrategyName;
  /** Prefix affinity's valve: leave the affine replica when its outstanding > least + bound (default 4). */
  loadBound?: number;
  /** Characters of the rendered prompt that form the affinity key (default 1024). */
  prefixChars?: number;
  /** Requests and tokens per minute, per team (docs/gateway.md); no limits when absent. */
  rateLimits?: RateLimits;
  /**
   * Requests for an autoscaled model with no ready replica wait for one (scale from zero): at most
   * `maxHeld` per model (default 256), each at most `timeoutMs` (default 60000), then 503.
   */
  coldStart?: { maxHeld?: number; timeoutMs?: number };
  /** Request header naming the team for metrics when there is no server to check keys (default `x-gpufleet-team`). */
  teamHeader?: string;
  /** OTLP/HTTP traces URL: one span per inference request is exported there; no tracing without it. */
  otlpTracesUrl?: string | undefined;
  logLevel?: string;
  logger?: Logger;
}

export interface Gateway {
  url: string;
  /** Replaces the routing table; requests already in flight finish where they are. */
  setTable(table: RoutingTableSnapshot): void;
  /** Requests in flight per replica id. */
  load(): ReadonlyMap<string, number>;
  registry: Registry;
  /** Stops accepting, lets in-flight requests finish, then closes. */
  close(): Promise<void>;
}

/** The OpenAI-compatible gateway: routes by `model` to the replicas of the routing table. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const logger = options.logger ?? createLogger({ name: 'gateway', level: options.logLevel });
  const metrics = createGatewayMetrics();
  let table = new RoutingTable({ models: [] });
  let reporter: GatewayReporter | undefined;
  const holds = new ColdStartHolds({ maxHeld: options.coldStart?.maxHeld ?? 256, timeoutMs: options.coldStart?.timeoutMs ?? 60_000, onFirstHeld: () => reporter?.soon() });
  const useTable = (next: RoutingTableSnapshot): void => {
    table = new RoutingTable(next);
    metrics.replicas.reset();
    for (const m of next.models) for (const v of m.versions) metrics.replicas.set({ model: m.model, version: v.version }, v.replicas.length);
    holds.release(table);
  };
  useTable(options.table ?? { models: [] });
  const tracing = options.otlpTracesUrl === undefined ? undefined : new (await import('../observe/tracing.js')).Tracing({ serviceName: 'gpufleet-gateway', tracesUrl: options.otlpTracesUrl });
  const proxy = new GatewayProxy({
    getTable: () => table,
    strategy: createStrategy(options.strategy ?? 'least-outstanding', { loadBound: options.loadBound ?? 4 }),
    metrics,
    logger,
    prefixChars: options.prefixChars ?? 1024,
    teamHeader: (options.teamHeader ?? 'x-gpufleet-team').toLowerCase(),
    ...(options.server ? { authenticate: new ApiKeyVerifier({ serverUrl: options.server.url }).verify } : {}),
    ...(options.rateLimits ? { limiter: new RateLimiter(options.rateLimits) } : {}),
    holds,
    tracing,
  });
  const feed = options.server
    ? new ServiceFeed({ serverUrl: options.server.url, token: options.server.token, intervalMs: options.server.refreshMs, logger, onTable: useTable })
    : undefined;
  const server: Server = createServer({ keepAliveTimeout: 65_000, noDelay: true }, (req, res) => proxy.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
  });
  await feed?.start();
  if (options.server) {
    reporter = new GatewayReporter({ serverUrl: options.server.url, token: options.server.token, intervalMs: options.server.refreshMs ?? 1000, metrics, held: () => holds.counts(), logger });
    reporter.start();
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, strategy: options.strategy ?? 'least-outstanding', models: table.models(), server: options.server?.url, traces: options.otlpTracesUrl }, 'gateway listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    setTable: useTable,
    load: () => proxy.load(),
    registry: metrics.registry,
    close() {
      closing ??= (async () => {
        await feed?.stop();
        await reporter?.stop();
        holds.expireAll();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await proxy.drain();
        server.closeAllConnections();
        await closed;
        proxy.destroy();
        await tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'could not send the last spans'));
        logger.info('gateway stopped');
      })();
      return closing;
    },
  };
}
