import { createLogger, fileDestination } from '../observe/logger.js';
import { createRegistry } from '../observe/metrics.js';
import { openStore } from '../store/db.js';
import { serverOptionsSchema, type ServerOptions } from './config.js';
import type { ControlContext } from './context.js';
import { buildApp } from './http/app.js';
import { userRoutes, type Services } from './http/api-routes.js';
import { agentRoutes } from './http/agent-routes.js';
import { serviceRoutes } from './http/service-routes.js';
import { systemRoutes } from './http/system-routes.js';
import { buildOpenApi } from './http/openapi.js';
import { createServerMetrics } from './metrics.js';
import { FleetGauges } from './observability/fleet-gauges.js';
import { Wakeups } from './wakeups.js';
import { loadSchedulerSettings } from './scheduler-config.js';
import { AuthService } from './services/auth-service.js';
import { bootstrap } from './services/bootstrap.js';
import { TeamService } from './services/team-service.js';
import { QueueService } from './services/queue-service.js';
import { WorkloadService } from './services/workload-service.js';
import { NodeService } from './services/node-service.js';
import { ServingService } from './services/serving-service.js';
import { SchedulerLoop } from './loops/scheduler-loop.js';
import { NodeHealthLoop } from './loops/node-health-loop.js';
import { ClusterLoop } from './loops/cluster-loop.js';
import { ClusterService } from './services/cluster-service.js';
import { clusterRoutes } from './http/cluster-routes.js';
import { Leadership } from './loops/leadership.js';
import { UsageRetentionLoop } from './loops/usage-retention-loop.js';
import { SloLoop } from './loops/slo-loop.js';
import { CostService } from './services/cost-service.js';
import { EventService } from './services/event-service.js';
import { telemetryRoutes } from './http/telemetry-routes.js';
import { loadPriceBook } from './price-book-file.js';
import { loadConfigFile } from './config-file.js';
import { parseBudgetBook } from '../core/budgets.js';
import { BudgetService } from './services/budget-service.js';
import { ServingLoop } from './loops/serving-loop.js';
import { packageRoot, packageVersion } from './package-info.js';
import { join } from 'node:path';

export type { ServerOptions };

export interface RunningServer {
  url: string;
  storeLocation: string;
  /** Only on the very first start of a database: the first admin and join tokens, to show once. */
  bootstrap: { adminToken: string; joinToken: string } | null;
  createJoinToken(ttlMs?: number): Promise<string>;
  close(): Promise<void>;
}

/** The composition root of `gpufleet server`: store, services, loops, HTTP. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const config = serverOptionsSchema.parse(options);
  // Before anything starts: a bad scheduler config stops the server with the field named.
  const scheduling = config.schedulerSettings ?? (await loadSchedulerSettings(config.schedulerConfigFile));
  const prices = await loadPriceBook(config.priceBookFile);
  const budgetBook = config.budgetsFile === undefined ? parseBudgetBook({}) : await loadConfigFile(config.budgetsFile, 'budgets', parseBudgetBook);
  const logger = createLogger({ name: 'server', level: config.logLevel, destination: config.logFile ? fileDestination(config.logFile) : undefined });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const registry = createRegistry('server');
  const wakeups = new Wakeups(store);
  await wakeups.start();
  const ctx: ControlContext = { store, db: store.db, config, logger, metrics: createServerMetrics(registry), wakeups, scheduling, now: () => new Date() };

  const auth = new AuthService(ctx);
  const nodes = new NodeService(ctx, auth);
  const services: Services = { ctx, auth, teams: new TeamService(ctx), queues: new QueueService(ctx), workloads: new WorkloadService(ctx), nodes };
  const secrets = await bootstrap(ctx, auth);

  const cost = new CostService(ctx, prices, scheduling.scheduler.poolLabel);
  const budgets = new BudgetService(ctx, budgetBook, cost);
  const apiRoutes = [
    ...userRoutes(services),
    ...serviceRoutes(new ServingService(ctx, services.workloads)),
    ...clusterRoutes(new ClusterService(ctx, nodes)),
    ...telemetryRoutes(cost, new EventService(ctx), budgets),
    ...agentRoutes(services),
  ];
  let openapi: unknown;
  const consolePath = join(packageRoot, 'src', 'web', 'index.html');
  const fleetGauges = new FleetGauges(registry, store.db, ctx.now);
  const metricsSource = { registry, refresh: () => fleetGauges.refresh() };
  const routes = [...systemRoutes(ctx, metricsSource, () => (openapi ??= buildOpenApi(apiRoutes, packageVersion)), consolePath), ...apiRoutes];
  const tracing = config.otlpTracesUrl === undefined ? undefined : new (await import('../observe/tracing.js')).Tracing({ serviceName: 'gpufleet-server', tracesUrl: config.otlpTracesUrl });
  const app = buildApp({ logger, routes, authenticate: (bearer, kind) => auth.authenticate(bearer, kind), metrics: ctx.metrics.http, tracing });

  const leadership = new Leadership(ctx, [
    new SchedulerLoop(ctx, () => budgets.heldTeams()),
    new NodeHealthLoop(ctx, nodes),
    new ClusterLoop(ctx, nodes),
    new ServingLoop(ctx),
    new UsageRetentionLoop(ctx),
    new SloLoop(ctx),
  ]);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await wakeups.stop();
    await store.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  await leadership.start();
  logger.info({ url, store: store.location, traces: config.otlpTracesUrl }, 'server started');

  let closing: Promise<void> | undefined;
  return {
    url,
    storeLocation: store.location,
    bootstrap: secrets,
    async createJoinToken(ttlMs = 3600_000) {
      return (await auth.createJoinToken(store.db, ttlMs)).token;
    },
    close() {
      closing ??= (async () => {
        await leadership.stop();
        await app.close();
        await tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'could not send the last spans'));
        await wakeups.stop();
        await store.close();
        logger.info('server stopped');
      })();
      return closing;
    },
  };
}
