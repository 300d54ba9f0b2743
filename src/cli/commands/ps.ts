import { Option, type Command } from 'commander';
import type { Workload } from '../../core/api-types.js';
import { workloadStates, type WorkloadState } from '../../core/workload-state.js';
import type { CliContext } from '../context.js';
import { nodeNameResolver } from '../node-names.js';
import { formatAge, outputOption, writeList, type Column, type OutputFormat } from '../output.js';

export function workloadColumns(nodeNames: ReadonlyMap<string, string>, now: number): Column<Workload>[] {
  return [
    { header: 'id', value: (w) => w.id },
    { header: 'name', value: (w) => w.name },
    { header: 'team', value: (w) => w.team },
    { header: 'state', value: (w) => w.state },
    { header: 'gpus', value: describeRequest },
    { header: 'node', value: (w) => (w.node === null ? '-' : (nodeNames.get(w.node) ?? w.node)) },
    { header: 'age', value: (w) => formatAge(w.createdAt, now) },
    // Last: reasons are sentences, and the last column is not padded.
    { header: 'reason', value: (w) => (w.state === 'pending' || w.state === 'preempted' ? (w.reason ?? '-') : '-') },
  ];
}

/** `2`, `2xH100-80GB`, `4×2` for a gang of 4 replicas of 2 GPUs, `0.25` or `20Gi` for a share of one GPU. */
export function describeRequest(w: Workload): string {
  const models = w.gpuModels ?? (w.gpuModel ? [w.gpuModel] : null);
  const share = w.gpuMemoryMiB !== null ? `${+(w.gpuMemoryMiB / 1024).toFixed(2)}Gi` : String(w.gpus);
  const perReplica = models !== null && (w.gpus > 0 || w.gpuMemoryMiB !== null) ? `${share}x${models.join('|')}` : share;
  return (w.replicas ?? 1) > 1 ? `${w.replicas}×${perReplica}` : perReplica;
}

export function registerPs(program: Command, ctx: CliContext): void {
  program
    .command('ps')
    .description('list jobs: active and recently finished ones, or all with --all')
    .option('--all', 'include every finished job')
    .option('--team <team>', 'only this team’s jobs')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(workloadStates))
    .addOption(outputOption())
    .action(async (options: { all?: boolean; team?: string; state?: WorkloadState; output: OutputFormat }) => {
      const client = await ctx.client();
      const items = await client.listWorkloads({
        team: options.team,
        state: options.state,
        all: options.all ? true : undefined,
        limit: options.all ? 1000 : undefined,
      });
      const nodeNames = nodeNameResolver(client);
      if (options.output === 'table') await nodeNames.resolve(...items.map((w) => w.node));
      writeList(ctx, options.output, items, workloadColumns(nodeNames.known, ctx.now()), 'jobs');
    });
}
