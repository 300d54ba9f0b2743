import { Option, type Command } from 'commander';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AgentJoinedMessage } from '../agent-ipc.js';
import { gpufleetHome } from '../config.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { logLevelOption } from '../log-level.js';
import { gpuSpec, keyValue, nodeName, port, wholeNumber } from '../parsers.js';
import { shutdownOnSignals } from '../shutdown.js';
import { describeGpus } from './nodes.js';

interface AgentCommandOptions {
  server: string;
  joinToken?: string;
  name?: string;
  stateDir?: string;
  simulateGpus?: string;
  simulateGpusIfNone?: string;
  label?: Record<string, string>;
  metricsPort: number;
  metricsHost: string;
  telemetryIntervalMs: number;
  usageWindowMs: number;
  advertiseAddress?: string;
  logLevel: string;
}

/** Node names are DNS labels; a host name such as `GPU-01.lab.example.com` becomes `gpu-01`. */
export function nodeNameFromHostname(host: string): string {
  const label = (host.split('.')[0] ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return label || 'node';
}

export function registerAgent(program: Command, ctx: CliContext): void {
  program
    .command('agent')
    .description('join this machine to a fleet and run the jobs the server assigns to it')
    .requiredOption('--server <url>', 'URL of the gpufleet server')
    .option('--join-token <token>', 'join token from gpufleet join-token create (default: $GPUFLEET_JOIN_TOKEN)')
    .option('--name <name>', 'node name (default: the host name)', nodeName)
    .option('--state-dir <dir>', 'where the agent keeps its credential (default: $GPUFLEET_HOME/agent)')
    .addOption(
      new Option('--simulate-gpus <spec>', 'pretend to have these GPUs, e.g. 8xH100-80GB').argParser(gpuSpec).conflicts('simulateGpusIfNone'),
    )
    .option('--simulate-gpus-if-none <spec>', 'simulate these GPUs only when no NVIDIA GPU is found', gpuSpec)
    .option('--label <key=value>', 'node label (repeatable)', keyValue)
    .option('--metrics-port <port>', 'port of the Prometheus /metrics endpoint (0: any free port)', port, 7071)
    .option('--metrics-host <host>', 'address of the /metrics endpoint', '127.0.0.1')
    .option('--telemetry-interval-ms <ms>', 'how often each GPU is sampled for /metrics and the server', wholeNumber, 5000)
    .option('--usage-window-ms <ms>', 'the longest window one GPU usage summary sent to the server covers', wholeNumber, 60_000)
    .option('--advertise-address <host>', "address at which this node's service replicas are reached (default: its first non-internal IPv4 address)")
    .addOption(logLevelOption())
    .action(async (options: AgentCommandOptions) => {
      const { runAgent } = await import('../../agent/main.js');
      const agent = await runAgent({
        serverUrl: options.server,
        joinToken: options.joinToken ?? (ctx.env.GPUFLEET_JOIN_TOKEN || undefined),
        name: options.name ?? nodeNameFromHostname(hostname()),
        stateDir: options.stateDir ?? join(gpufleetHome(ctx.env), 'agent'),
        simulateGpus: options.simulateGpus,
        simulateGpusIfNone: options.simulateGpusIfNone,
        labels: options.label ?? {},
        metricsHost: options.metricsHost,
        metricsPort: options.metricsPort,
        telemetryIntervalMs: options.telemetryIntervalMs,
        usageWindowMs: options.usageWindowMs,
        advertiseAddress: options.advertiseAddress,
        logLevel: options.logLevel,
      });
      // Replicas keep running when the agent stops: a restarted agent adopts them.
      const shutdown = shutdownOnSignals(() => agent.stop(), ctx.stderr);
      agent.done.catch((err: unknown) => {
        ctx.stderr.write(`${reportError(err).lines.join('\n')}\n`);
        process.exit(1);
      });
      const gpus = agent.gpus.length === 0 ? 'no GPUs' : describeGpus(agent.gpus);
      const metrics = agent.metricsUrl ? `; metrics at ${agent.metricsUrl}` : '';
      ctx.stdout.write(`Joined as node ${agent.name} (${agent.nodeId}) with ${gpus}${agent.simulated ? ' SIMULATED' : ''}${metrics}\n`);
      if (process.send) {
        const joined: AgentJoinedMessage = {
          type: 'gpufleet-agent-joined',
          nodeId: agent.nodeId,
          name: agent.name,
          simulated: agent.simulated,
          gpus: agent.gpus,
          metricsUrl: agent.metricsUrl,
        };
        process.send(joined);
        // Started by `gpufleet up`: when that process dies without stopping us, stop too.
        process.once('disconnect', () => shutdown(0));
      }
    });
}
