import { Option, type Command } from 'commander';
import { loadConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { logLevelOption } from '../log-level.js';
import { port, wholeNumber } from '../parsers.js';
import { shutdownOnSignals } from '../shutdown.js';
import { otlpTracesUrl } from '../../observe/otlp-endpoint.js';
import { strategyNames, type StrategyName } from '../../gateway/main.js';

interface GatewayCommandOptions {
  host: string;
  port: number;
  strategy: StrategyName;
  loadBound: number;
  refreshMs: number;
  rateLimits?: string;
  coldStartTimeoutMs: number;
  coldStartMaxHeld: number;
  logLevel: string;
  otlpEndpoint?: string;
}

export function registerGateway(program: Command, ctx: CliContext): void {
  program
    .command('gateway')
    .description("serve the fleet's models behind one OpenAI-compatible endpoint (routes by model to the services' ready replicas)")
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', port, 8080)
    .addOption(new Option('--strategy <name>', 'how a replica is picked').choices(strategyNames).default('least-outstanding'))
    .option('--load-bound <n>', 'prefix affinity: leave the affine replica when it has this many more requests in flight than the least loaded', wholeNumber, 4)
    .option('--refresh-ms <ms>', 'how often the routing table is read from the server', wholeNumber, 1000)
    .option('--rate-limits <file.yaml>', 'requests and tokens per minute, by default and per team (see docs/gateway.md)')
    .option('--cold-start-timeout-ms <ms>', 'how long a request for an autoscaled model with no ready replica waits for one', wholeNumber, 60_000)
    .option('--cold-start-max-held <n>', 'requests held per model during a cold start; more get 503 at once', wholeNumber, 256)
    .option('--otlp-endpoint <url>', 'export a trace span per inference request over OTLP/HTTP to this collector (default: $OTEL_EXPORTER_OTLP_ENDPOINT)')
    .addOption(logLevelOption())
    .action(async (o: GatewayCommandOptions) => {
      // The server and token of the CLI config (or GPUFLEET_URL / GPUFLEET_TOKEN): an admin token, to see every service.
      const config = await loadConfig(ctx.env);
      if (!config.token) throw new CliError(`no token in ${config.path} or GPUFLEET_TOKEN: the gateway needs an admin token to read the services`);
      const { startGateway, loadRateLimits } = await import('../../gateway/main.js');
      const rateLimits = o.rateLimits === undefined ? undefined : await loadRateLimits(o.rateLimits).catch((err: Error) => Promise.reject(new CliError(err.message)));
      const gateway = await startGateway({
        host: o.host,
        port: o.port,
        strategy: o.strategy,
        loadBound: o.loadBound,
        server: { url: config.url, token: config.token, refreshMs: Math.max(100, o.refreshMs) },
        ...(rateLimits ? { rateLimits } : {}),
        coldStart: { timeoutMs: Math.max(1, o.coldStartTimeoutMs), maxHeld: o.coldStartMaxHeld },
        logLevel: o.logLevel,
        otlpTracesUrl: otlpTracesUrl(ctx.env, o.otlpEndpoint),
      });
      shutdownOnSignals(() => gateway.close(), ctx.stderr);
      ctx.stdout.write(`gpufleet gateway on ${gateway.url} (OpenAI API under /v1, metrics at /metrics), routing for ${config.url}\n`);
    });
}
