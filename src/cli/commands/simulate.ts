import { readFile, writeFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { QueueManifest } from '../../core/manifest.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { readManifests } from '../manifest-file.js';
import { decimal, wholeNumber } from '../parsers.js';

/**
 * `gpufleet simulate replay|fill`: what-if runs of the production scheduler on a trace, on this
 * machine (no server). The work is in src/simulate/main.ts, loaded only when the command runs.
 */
interface CommonOptions {
  trace: string;
  format: 'csv' | 'philly' | 'openb';
  nodeList?: string;
  cluster?: string;
  shrink?: number;
  schedulerConfig?: string;
  badRows: 'skip' | 'reject';
  output: 'table' | 'json';
  svg?: string;
}
interface ReplayOptions extends CommonOptions {
  policy?: string[];
  queues?: string;
  targetLoad?: number;
  checkpoint?: number;
  cycleSeconds?: number;
  declaredLimits?: string;
  oversize: 'drop' | 'cap';
}
interface FillOptions extends CommonOptions {
  policy?: string[];
  seed?: number[];
}

const collect = <T>(parse: (v: string) => T) => (value: string, previous: T[] | undefined) => [...(previous ?? []), parse(value)];
const fraction = (v: string) => {
  const n = decimal(v);
  if (!(n > 0)) throw new InvalidArgumentError('must be a number above 0, e.g. 0.9');
  return n;
};

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--trace <path>', 'the trace: a CSV file; Philly: its folder (philly.csv.gz, philly_vc.csv); OpenB: a pod list')
    .addOption(new Option('--format <format>', 'trace format (docs/simulate-traces.md)').choices(['csv', 'philly', 'openb']).default('csv'))
    .option('--node-list <file>', 'OpenB: the node list, the cluster unless --cluster is given')
    .option('--cluster <file.yaml>', 'cluster spec: groups of nodes with GPUs by model, cores, memory, labels (docs/simulate.md)')
    .option('--shrink <fraction>', 'keep this fraction of the nodes, evenly over the cluster', fraction)
    .option('--scheduler-config <file.yaml>', "the server's scheduler settings (docs/scheduler.md)")
    .addOption(new Option('--bad-rows <policy>', 'a bad trace row is skipped (and reported) or fails the run').choices(['skip', 'reject']).default('skip'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--svg <file>', 'also draw the results as an SVG file');
}

async function readQueues(file: string): Promise<QueueManifest[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const queues: QueueManifest[] = [];
  for (const doc of readManifests(text, file)) {
    if (doc.manifest.kind === 'Queue') queues.push(doc.manifest);
    else if (doc.manifest.kind !== 'Team') throw new CliError(`${file}: ${doc.label}: simulate reads Queue documents (and skips Teams), not ${doc.manifest.kind}`);
  }
  if (queues.length === 0) throw new CliError(`${file} holds no Queue documents`);
  return queues;
}

/** A bad input is the user's to fix: its message, without a stack trace. */
async function userErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof CliError) throw err;
    const { message, name } = err as Error;
    if (['TraceError', 'SimulateInputError', 'ClusterSpecError', 'SchedulerConfigError', 'Error'].includes(name)) throw new CliError(message);
    throw err;
  }
}

function warnBadRows(ctx: CliContext, badRows: string[]): void {
  if (badRows.length === 0) return;
  ctx.stderr.write(`${badRows.length} bad trace row(s) skipped:\n${badRows.slice(0, 5).map((l) => `  ${l}\n`).join('')}${badRows.length > 5 ? `  ... and ${badRows.length - 5} more\n` : ''}`);
}

export function registerSimulate(program: Command, ctx: CliContext): void {
  const simulate = program.command('simulate').description('replay a trace through the production scheduler, on this machine (docs/simulate.md)');

  common(
    simulate
      .command('replay')
      .description('queueing replay: jobs arrive at their submit times and run their durations; JCT, waits, utilization, fairness per policy'),
  )
    .option('--policy <name>', 'a policy to run, repeatable: fifo, sjf, tiresias-las, gpufleet-default (default: all)', collect(String))
    .option('--queues <file.yaml>', 'Queue documents as `gpufleet apply -f` takes them (default: the trace\'s queues)')
    .option('--target-load <load>', 'compress or stretch arrivals to this offered load, e.g. 0.9', fraction)
    .option('--checkpoint <seconds>', 'a preempted job restarts from its last checkpoint, taken this often (default: from scratch)', wholeNumber)
    .option('--cycle-seconds <s>', 'gpufleet-default plans at most once per this many simulated seconds (default: at every arrival and completion)', wholeNumber)
    .option('--declared-limits <factor[:round_s]>', 'assume jobs without a time limit declare their runtime × factor, rounded up to round_s seconds, e.g. 1:3600 (default: none)')
    .addOption(new Option('--oversize <mode>', 'jobs larger than any node: left out, or capped to one node').choices(['drop', 'cap']).default('drop'))
    .action(async (o: ReplayOptions) => {
      const sim = await import('../../simulate/main.js');
      const policies = o.policy ?? [...sim.REPLAY_POLICIES];
      for (const p of policies) if (!(sim.REPLAY_POLICIES as readonly string[]).includes(p)) throw new CliError(`--policy: unknown replay policy ${p}: one of ${sim.REPLAY_POLICIES.join(', ')}`, 2);
      const queues = o.queues ? await readQueues(o.queues) : undefined;
      let declaredLimits = null;
      try {
        declaredLimits = o.declaredLimits ? sim.parseDeclaredLimits(o.declaredLimits) : null;
      } catch (err) {
        throw new CliError(`--declared-limits: ${(err as Error).message}`, 2);
      }
      const report = await userErrors(() =>
        sim.simulateReplay({
          format: o.format, trace: o.trace, badRows: o.badRows,
          ...(o.nodeList ? { nodeList: o.nodeList } : {}), ...(o.cluster ? { clusterFile: o.cluster } : {}), ...(o.shrink ? { shrink: o.shrink } : {}),
          ...(o.schedulerConfig ? { schedulerConfigFile: o.schedulerConfig } : {}), ...(queues ? { queues } : {}),
          ...(o.targetLoad ? { targetLoad: o.targetLoad } : {}), ...(o.checkpoint ? { checkpointSeconds: o.checkpoint } : {}), ...(o.cycleSeconds ? { cycleSeconds: o.cycleSeconds } : {}),
          declaredLimits,
          policies: policies as typeof sim.REPLAY_POLICIES[number][], oversize: o.oversize, buckets: 100,
        }),
      );
      warnBadRows(ctx, report.trace.badRows);
      ctx.stdout.write(o.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : sim.replayTable(report));
      if (o.svg) await writeFile(o.svg, sim.replaySvg(report));
    });

  common(
    simulate
      .command('fill')
      .description("the OpenB paper's fill: pods shuffled by seed arrive until 130 % of GPU capacity, never leave; allocated share per policy"),
  )
    .option('--policy <name>', 'a placement policy, repeatable: gpufleet-default, random-fit, best-fit, gpu-packing, gpufleet-binpack, gpufleet-fragmentation (default: all)', collect(String))
    .option('--seed <n>', 'a seed, repeatable (default: the paper\'s 42..51)', collect(wholeNumber))
    .action(async (o: FillOptions) => {
      const sim = await import('../../simulate/main.js');
      const policies = o.policy ?? [...sim.FILL_POLICY_NAMES];
      for (const p of policies) if (!sim.FILL_POLICY_NAMES.includes(p)) throw new CliError(`--policy: unknown fill policy ${p}: one of ${sim.FILL_POLICY_NAMES.join(', ')}`, 2);
      const report = await userErrors(() =>
        sim.simulateFill({
          format: o.format, trace: o.trace, badRows: o.badRows,
          ...(o.nodeList ? { nodeList: o.nodeList } : {}), ...(o.cluster ? { clusterFile: o.cluster } : {}), ...(o.shrink ? { shrink: o.shrink } : {}),
          ...(o.schedulerConfig ? { schedulerConfigFile: o.schedulerConfig } : {}),
          policies, seeds: o.seed ?? [...sim.OPENB_SEEDS],
        }),
      );
      warnBadRows(ctx, report.trace.badRows);
      ctx.stdout.write(o.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : sim.fillTable(report));
      if (o.svg) await writeFile(o.svg, sim.fillSvg(report));
    });
}
