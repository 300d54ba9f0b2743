import { Option, type Command } from 'commander';
import { join } from 'node:path';
import { gpufleetHome } from '../config.js';
import type { CliContext } from '../context.js';
import { logLevelOption } from '../log-level.js';
import { durationMs, port, wholeNumber } from '../parsers.js';
import { shutdownOnSignals } from '../shutdown.js';
import { otlpTracesUrl } from '../../observe/otlp-endpoint.js';

interface ServerCommandOptions {
  host: string;
  port: number;
  dataDir?: string;
  databaseUrl?: string;
  logLevel: string;
  nodeSuspectAfterMs?: number;
  nodeLostAfterMs?: number;
  heartbeatIntervalMs?: number;
  schedulerConfig?: string;
  priceBook?: string;
  budgets?: string;
  budgetRefreshMs?: number;
  alertWebhook?: string[];
  sloIntervalMs?: number;
  usageRetention?: number;
  otlpEndpoint?: string;
}

export function registerServer(program: Command, ctx: CliContext): void {
  program
    .command('server')
    .description('run the control plane: the HTTP API, the scheduler and the web console')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', port, 7070)
    .option('--data-dir <dir>', 'embedded database directory (default: $GPUFLEET_HOME/data)')
    .option('--database-url <url>', 'PostgreSQL URL instead of the embedded database (default: $DATABASE_URL)')
    .option('--scheduler-config <file>', 'YAML file of scheduler settings: placement, preemption, fair share (default: $GPUFLEET_SCHEDULER_CONFIG)')
    .option('--price-book <file>', 'YAML prices per GPU-hour by GPU model and node, for gpufleet cost and waste (default: $GPUFLEET_PRICE_BOOK)')
    .option('--budgets <file>', 'YAML GPU-hour or money budgets per team and period; a team over budget only runs preemptible work (default: $GPUFLEET_BUDGETS)')
    .option('--alert-webhook <url>', 'POST every SLO alert as JSON to this URL (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--usage-retention <duration>', 'how long GPU usage summaries are kept, e.g. 30d', durationMs)
    .option('--otlp-endpoint <url>', 'export a trace span per API request over OTLP/HTTP to this collector (default: $OTEL_EXPORTER_OTLP_ENDPOINT)')
    .addOption(logLevelOption())
    // Tests shorten the node health timings; people have no reason to.
    .addOption(new Option('--node-suspect-after-ms <ms>').argParser(wholeNumber).hideHelp())
    .addOption(new Option('--node-lost-after-ms <ms>').argParser(wholeNumber).hideHelp())
    .addOption(new Option('--heartbeat-interval-ms <ms>').argParser(wholeNumber).hideHelp())
    .addOption(new Option('--budget-refresh-ms <ms>').argParser(wholeNumber).hideHelp())
    .addOption(new Option('--slo-interval-ms <ms>').argParser(wholeNumber).hideHelp())
    .action(async (options: ServerCommandOptions) => {
      const { startServer } = await import('../../control/main.js');
      const server = await startServer({
        host: options.host,
        port: options.port,
        dataDir: options.dataDir ?? join(gpufleetHome(ctx.env), 'data'),
        databaseUrl: options.databaseUrl ?? (ctx.env.DATABASE_URL || undefined),
        logLevel: options.logLevel,
        nodeSuspectAfterMs: options.nodeSuspectAfterMs,
        nodeLostAfterMs: options.nodeLostAfterMs,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        schedulerConfigFile: options.schedulerConfig ?? (ctx.env.GPUFLEET_SCHEDULER_CONFIG || undefined),
        priceBookFile: options.priceBook ?? (ctx.env.GPUFLEET_PRICE_BOOK || undefined),
        usageRetentionMs: options.usageRetention,
        budgetsFile: options.budgets ?? (ctx.env.GPUFLEET_BUDGETS || undefined),
        budgetRefreshMs: options.budgetRefreshMs,
        alertWebhooks: options.alertWebhook,
        sloIntervalMs: options.sloIntervalMs,
        otlpTracesUrl: otlpTracesUrl(ctx.env, options.otlpEndpoint),
      });
      shutdownOnSignals(() => server.close(), ctx.stderr);
      const out = ctx.stdout;
      out.write(`gpufleet server listening on ${server.url} (console: ${server.url}/)\n`);
      out.write(`Data: ${server.storeLocation}\n`);
      if (server.bootstrap) {
        const { adminToken, joinToken } = server.bootstrap;
        out.write(
          '\nFirst start: created an admin token and a join token. They are shown now and will not be shown again.\n' +
            `  Admin token: ${adminToken}\n` +
            `  Join token:  ${joinToken}\n` +
            `Log in:        gpufleet login --url ${server.url} --token ${adminToken}\n` +
            `Add a machine: gpufleet agent --server ${server.url} --join-token ${joinToken}\n`,
        );
      }
    });
}
