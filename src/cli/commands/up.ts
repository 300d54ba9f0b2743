import type { Command } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAgentJoinedMessage, type AgentJoinedMessage } from '../agent-ipc.js';
import { configPath, gpufleetHome, loadConfig, readConfigFile, writeConfig } from '../config.js';
import type { Gateway } from '../../gateway/main.js';
import { createLogger, fileDestination } from '../../observe/logger.js';
import { otlpTracesUrl } from '../../observe/otlp-endpoint.js';
import type { CliContext, Writer } from '../context.js';
import { CliError } from '../errors.js';
import { binPath } from '../package-info.js';
import { gpuSpec, nodeName, port } from '../parsers.js';
import { shutdownOnSignals } from '../shutdown.js';
import { describeGpus } from './nodes.js';

interface UpOptions {
  host: string;
  port: number;
  dataDir?: string;
  simulateGpus?: string;
  agentName?: string;
  schedulerConfig?: string;
  gatewayPort?: number;
}

const defaultSimulatedGpus = '8xH100-80GB';
const agentStopTimeoutMs = 15_000;

export function registerUp(program: Command, ctx: CliContext): void {
  program
    .command('up')
    .description('run the whole platform on this machine: a server, an agent and the CLI config')
    .option('--port <port>', 'server port; the agent’s metrics use the next one', port, 7070)
    .option('--host <host>', 'address the server listens on', '127.0.0.1')
    .option('--data-dir <dir>', 'embedded database directory (default: $GPUFLEET_HOME/data)')
    .option('--simulate-gpus <spec>', `simulate these GPUs (default: ${defaultSimulatedGpus}, only if no NVIDIA GPU is found)`, gpuSpec)
    .option('--agent-name <name>', "the agent's node name (default: the host name)", nodeName)
    .option('--scheduler-config <file>', 'YAML file of scheduler settings (default: $GPUFLEET_SCHEDULER_CONFIG)')
    .option('--gateway-port <port>', 'port of the OpenAI-compatible gateway (default: the server port + 2)', port)
    .action(async (options: UpOptions) => {
      const home = gpufleetHome(ctx.env);
      const { startServer } = await import('../../control/main.js');
      // The terminal is for the summary and the agent's lines; request logs go to a file.
      const logFile = join(home, 'logs', 'server.log');
      const server = await startServer({
        host: options.host,
        port: options.port,
        dataDir: options.dataDir ?? join(home, 'data'),
        databaseUrl: ctx.env.DATABASE_URL || undefined,
        logFile,
        schedulerConfigFile: options.schedulerConfig ?? (ctx.env.GPUFLEET_SCHEDULER_CONFIG || undefined),
        otlpTracesUrl: otlpTracesUrl(ctx.env),
      });
      let agent: ChildProcess | null = null;
      let gateway: Gateway | null = null;
      let stopping: Promise<void> | null = null;
      const stopAll = (): Promise<void> =>
        (stopping ??= (async () => {
          await gateway?.close();
          if (agent) await stopChild(agent);
          await server.close();
        })());
      const shutdown = shutdownOnSignals(stopAll, ctx.stderr);
      try {
        await explainCredentials(ctx, server.url, server.bootstrap?.adminToken ?? null);
        const joinToken = await server.createJoinToken();
        agent = spawnAgent(ctx, { ...options, serverUrl: server.url, home, joinToken });
        const joined = await waitForJoin(ctx, agent);
        if (joined === null) throw new CliError('the agent exited before it joined; its output is above (lines starting with "agent |")');
        agent.once('close', (code, signal) => {
          if (stopping !== null) return;
          ctx.stderr.write(`The agent exited unexpectedly (${signal ?? `code ${code}`}); stopping the server.\n`);
          shutdown(1);
        });
        gateway = await startUpGateway(ctx, server.url, options.host, options.gatewayPort ?? options.port + 2, logFile);
        ctx.stdout.write(summary(server.url, server.storeLocation, logFile, joined, options.simulateGpus !== undefined, gateway?.url ?? null));
      } catch (err) {
        // A Ctrl-C while starting also ends here; the signal handler then owns the exit.
        const interrupted = stopping !== null;
        await stopAll();
        if (!interrupted) throw err;
      }
    });
}

async function explainCredentials(ctx: CliContext, url: string, adminToken: string | null): Promise<void> {
  const path = configPath(ctx.env);
  if (adminToken !== null) {
    await writeConfig(ctx.env, { url, token: adminToken });
    ctx.stdout.write(
      `First start: created the admin token. It is shown now and will not be shown again:\n  ${adminToken}\n` +
        `Saved it with the URL to ${path}, so gpufleet commands on this machine use it.\n\n`,
    );
    return;
  }
  const existing = await readConfigFile(path);
  if (existing === null)
    ctx.stdout.write(`No CLI config at ${path}: log in with the admin token printed on the first start:\n  gpufleet login --url ${url} --token TOKEN\n\n`);
  else if (existing.url !== undefined && existing.url.replace(/\/+$/, '') !== url)
    ctx.stdout.write(`Note: the CLI config ${path} points at ${existing.url}, not at this server (${url}).\n\n`);
  else ctx.stdout.write(`Using the existing CLI config at ${path}.\n\n`);
}

/**
 * The gateway runs in this process and reads the services with the CLI config's token (the admin
 * token saved on the first start). Without one it is left out, with a note.
 */
async function startUpGateway(ctx: CliContext, serverUrl: string, host: string, gatewayPort: number, logFile: string): Promise<Gateway | null> {
  const { token, url } = await loadConfig(ctx.env);
  if (!token || url.replace(/\/+$/, '') !== serverUrl) {
    ctx.stdout.write(`No token for ${serverUrl} in the CLI config: the gateway is not started (run gpufleet gateway once logged in).\n\n`);
    return null;
  }
  const { startGateway } = await import('../../gateway/main.js');
  return startGateway({ host, port: gatewayPort, server: { url: serverUrl, token }, logger: createLogger({ name: 'gateway', destination: fileDestination(logFile) }), otlpTracesUrl: otlpTracesUrl(ctx.env) });
}

function spawnAgent(ctx: CliContext, o: UpOptions & { serverUrl: string; home: string; joinToken: string }): ChildProcess {
  // Service replicas are reached by the gateway in this process: on this machine.
  const args = [binPath(), 'agent', '--server', o.serverUrl, '--state-dir', join(o.home, 'agent'), '--metrics-port', String(o.port + 1), '--advertise-address', '127.0.0.1'];
  args.push(...(o.simulateGpus ? ['--simulate-gpus', o.simulateGpus] : ['--simulate-gpus-if-none', defaultSimulatedGpus]));
  if (o.agentName) args.push('--name', o.agentName);
  args.push('--log-level', 'warn');
  // The join token travels in the environment: command lines are visible to every user in `ps`.
  // Its own process group keeps Ctrl-C from reaching it directly, so this process decides the order of stopping.
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...ctx.env, GPUFLEET_JOIN_TOKEN: o.joinToken },
    detached: true,
  });
  prefixLines(child.stdout!, ctx.stdout);
  prefixLines(child.stderr!, ctx.stderr);
  return child;
}

function prefixLines(stream: NodeJS.ReadableStream, to: Writer): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    if (line.trim() !== '') to.write(`agent | ${line}\n`);
  });
}

/** Resolves with the agent's join report, or null when it exits first. */
async function waitForJoin(ctx: CliContext, agent: ChildProcess): Promise<AgentJoinedMessage | null> {
  const slow = setTimeout(() => ctx.stderr.write('Still waiting for the agent to join…\n'), 10_000);
  try {
    return await new Promise((resolve) => {
      agent.on('message', (message) => {
        if (isAgentJoinedMessage(message)) resolve(message);
      });
      agent.once('close', () => resolve(null));
    });
  } finally {
    clearTimeout(slow);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(agentStopTimeoutMs).then(() => true)]);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

function summary(url: string, storeLocation: string, logFile: string, agent: AgentJoinedMessage, simulationAsked: boolean, gatewayUrl: string | null): string {
  const gpus = agent.gpus.length === 0 ? 'none' : describeGpus(agent.gpus);
  const why = simulationAsked ? 'as asked with --simulate-gpus' : 'no NVIDIA GPU was found on this machine';
  const gpuLine = agent.simulated
    ? `${gpus} on node ${agent.name}, SIMULATED (${why}): jobs run as ordinary processes with CUDA_VISIBLE_DEVICES set`
    : `${gpus} on node ${agent.name}`;
  const metrics = [`${url}/metrics (server)`, ...(agent.metricsUrl ? [`${agent.metricsUrl} (agent)`] : []), ...(gatewayUrl ? [`${gatewayUrl}/metrics (gateway)`] : [])].join(', ');
  return [
    '',
    'gpufleet is up.',
    '',
    `  Server:   ${url}`,
    `  Console:  ${url}/`,
    ...(gatewayUrl ? [`  Gateway:  ${gatewayUrl}/v1 (OpenAI-compatible; API keys are gpufleet tokens)`] : []),
    `  Metrics:  ${metrics}`,
    `  Data:     ${storeLocation}`,
    `  Logs:     ${logFile}`,
    `  GPUs:     ${gpuLine}`,
    '',
    'Try:',
    "  npx gpufleet run --gpus 2 --name hello --wait -- sh -c 'echo gpus=$CUDA_VISIBLE_DEVICES; sleep 1'",
    '  npx gpufleet logs hello',
    '  npx gpufleet ps',
    '  npx gpufleet nodes',
    '  npx gpufleet get queues',
    '',
    'Press Ctrl-C to stop the server and the agent.',
    '',
  ].join('\n');
}
