import { Option, type Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GpufleetClient, WorkloadSubmitBody } from '../../client/api-client.js';
import type { Workload } from '../../core/api-types.js';
import { isTerminalWorkloadState } from '../../core/workload-state.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { JobProgress, jobExitCode } from '../job-progress.js';
import { nodeNameResolver } from '../node-names.js';
import { formatStructured, outputOption, type OutputFormat } from '../output.js';
import { decimal, envVariable, gpuCount, integer, wholeNumber } from '../parsers.js';
import { priorityClasses } from '../../core/api-types.js';
import { retryWhileUnreachable } from '../retry.js';

export interface RunOptions {
  name?: string;
  team?: string;
  queue?: string;
  gpus?: number;
  gpuModel?: string;
  gpuMemory?: string;
  cpus?: number;
  memory?: string;
  replicas?: number;
  priorityClass?: keyof typeof priorityClasses;
  preemptible?: boolean;
  timeLimit?: string;
  env?: Record<string, string>;
  workdir?: string;
  priority?: number;
  cluster?: string;
  wait?: boolean;
  output: OutputFormat;
}

const pollIntervalMs = 200;

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('submit a job that runs COMMAND on GPUs of the fleet')
    .usage('[options] -- COMMAND [ARGS...]')
    .argument('[command...]', 'program and arguments, after --')
    .option('--name <name>', 'job name (generated when omitted)')
    .option('--team <team>', "team that owns the job (default: your token's team)")
    .option('--queue <queue>', "queue to charge (default: the team's queue)")
    .option('--gpus <n>', 'whole GPUs, all on one node, or a share of one GPU (0.5)', gpuCount)
    .option('--gpu-model <model>', 'only GPUs of this model, e.g. H100-80GB')
    .option('--gpu-memory <size>', 'a share of one GPU sized by its memory, e.g. 20Gi')
    .option('--cpus <n>', 'CPU cores per replica', decimal)
    .option('--memory <size>', 'memory per replica, e.g. 64Gi')
    .option('--replicas <n>', 'replicas that start together (a gang)', wholeNumber)
    .addOption(new Option('--priority-class <class>', 'sets the default priority and preemptible').choices(Object.keys(priorityClasses)))
    .option('--preemptible', 'may be stopped and requeued for others')
    .option('--no-preemptible', 'may not be preempted')
    .option('--time-limit <duration>', 'wall-clock limit, e.g. 2h or 1h30m')
    .option('--env <KEY=VALUE>', 'environment variable for the job (repeatable)', envVariable)
    .option('--workdir <dir>', 'working directory on the node')
    .option('--priority <p>', 'higher runs first within its queue', integer)
    .option('--cluster <name>', 'run only on this cluster (e.g. a Slurm cluster); default: wherever fits best')
    .option('--wait', 'show progress until the job ends, then exit with its exit code')
    .addOption(outputOption())
    // Flags after the program's name belong to the program, not to gpufleet.
    .passThroughOptions()
    .action(async (command: string[], options: RunOptions) => {
      const client = await ctx.client();
      const submitted = await client.submitWorkload(submitBody(command, options));
      if (!options.wait) {
        if (options.output === 'table') {
          ctx.stdout.write(`job/${submitted.name} submitted (${submitted.id})\n`);
          ctx.stderr.write(`Follow it with: gpufleet logs -f ${submitted.name}\n`);
        } else ctx.stdout.write(formatStructured(submitted, options.output));
        return;
      }
      const finished = await waitForJob(ctx, client, submitted);
      if (options.output !== 'table') ctx.stdout.write(formatStructured(finished, options.output));
      ctx.exitCode = jobExitCode(finished);
    });
}

export function submitBody(command: string[], options: RunOptions): WorkloadSubmitBody {
  if (command.length === 0) throw new UsageError('give the command to run after --, e.g.: gpufleet run --gpus 1 -- python train.py');
  return {
    command,
    name: options.name,
    team: options.team,
    queue: options.queue,
    gpus: options.gpus,
    gpuModel: options.gpuModel,
    gpuMemory: options.gpuMemory,
    cpus: options.cpus,
    memory: options.memory,
    replicas: options.replicas,
    priorityClass: options.priorityClass,
    preemptible: options.preemptible,
    timeLimit: options.timeLimit,
    env: options.env,
    workdir: options.workdir,
    priority: options.priority,
    cluster: options.cluster,
  };
}

/** Polls until the job ends, drawing its states on stderr; Ctrl-C stops watching, not the job. */
async function waitForJob(ctx: CliContext, client: GpufleetClient, job: Workload): Promise<Workload> {
  const nodeName = nodeNameResolver(client);
  const progress = new JobProgress(nodeName.known);
  const detach = (): never => {
    ctx.stderr.write(
      `\nStopped watching; job ${job.name} keeps running. Follow it: gpufleet logs -f ${job.name}   Cancel it: gpufleet cancel ${job.name}\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', detach);
  try {
    let current = job;
    for (;;) {
      if (current.node !== null) await nodeName.resolve(current.node);
      ctx.stderr.write(progress.update(current));
      if (isTerminalWorkloadState(current.state)) break;
      await sleep(pollIntervalMs);
      current = await retryWhileUnreachable(() => client.getWorkload(job.id));
    }
    ctx.stderr.write('\n');
    return current;
  } finally {
    process.off('SIGINT', detach);
  }
}
