import type { Command } from 'commander';
import type { Queue, Quota, Team } from '../../core/api-types.js';
import type { Cluster } from '../../core/cluster-types.js';
import type { CliContext } from '../context.js';
import type { GpufleetClient } from '../../client/api-client.js';
import { registerGetServices } from './services.js';
import { formatAge, outputOption, writeList, writeOne, type Column, type OutputFormat } from '../output.js';

export function describeQuota(q: Quota): string {
  const limit = q.limit === null ? 'no limit' : `limit ${q.limit}`;
  const weight = q.overQuotaWeight === 1 ? '' : `, weight ${q.overQuotaWeight}`;
  const lends = q.lendingLimit === null ? '' : `, lends ${q.lendingLimit}`;
  // GPU quotas read as before (`H100-80GB: …`); cores and memory say what they count.
  const what = q.resource === 'gpus' ? q.gpuModel : q.resource === 'cpus' ? 'cpus' : 'memory GiB';
  return `${what}: ${q.guaranteed} guaranteed, ${limit}${weight}${lends}`;
}

export function describeUsage(usage: Record<string, number>): string {
  const used = Object.entries(usage).filter(([, n]) => n > 0);
  return used.length === 0 ? '0' : used.map(([model, n]) => `${model}: ${n}`).join(', ');
}

export function teamColumns(now: number): Column<Team>[] {
  return [
    { header: 'name', value: (t) => t.name },
    { header: 'age', value: (t) => formatAge(t.createdAt, now) },
  ];
}

export const queueColumns: Column<Queue>[] = [
  { header: 'name', value: (q) => q.name },
  { header: 'team', value: (q) => q.team },
  { header: 'parent', value: (q) => q.parent ?? '-' },
  { header: 'priority', value: (q) => String(q.priority) },
  { header: 'quotas', value: (q) => (q.quotas.length === 0 ? '-' : q.quotas.map(describeQuota).join('; ')) },
  { header: 'in use', value: (q) => describeUsage(q.usage) },
];

export function clusterColumns(now: number): Column<Cluster>[] {
  return [
    { header: 'name', value: (c) => c.name },
    { header: 'backend', value: (c) => c.spec.backend },
    { header: 'url', value: (c) => c.spec.url },
    { header: 'status', value: (c) => c.status },
    { header: 'nodes', value: (c) => String(c.nodes) },
    { header: 'gpus', value: (c) => String(c.gpus) },
    { header: 'synced', value: (c) => (c.syncedAt ? `${formatAge(c.syncedAt, now)} ago` : 'never') },
    { header: 'message', value: (c) => c.message ?? '-' },
  ];
}

type GetOptions = { output: OutputFormat };

/** `get KINDS [name]`: the list, or the one named, as a table or -o json|yaml. */
interface Listing<T> {
  kind: string;
  description: string;
  columns(now: number): Column<T>[];
  list(client: GpufleetClient): Promise<T[]>;
  one(client: GpufleetClient, name: string): Promise<T>;
}

function registerListing<T>(get: Command, ctx: CliContext, l: Listing<T>): void {
  get
    .command(`${l.kind}s`)
    .alias(l.kind)
    .description(l.description)
    .argument('[name]', `${l.kind} name`)
    .addOption(outputOption())
    .action(async (name: string | undefined, options: GetOptions) => {
      const client = await ctx.client();
      const columns = l.columns(ctx.now());
      if (name) writeOne(ctx, options.output, await l.one(client, name), columns);
      else writeList(ctx, options.output, await l.list(client), columns, `${l.kind}s`);
    });
}

export function registerGet(program: Command, ctx: CliContext): void {
  const get = program.command('get').description('show teams, queues, clusters or services');
  registerListing(get, ctx, {
    kind: 'team',
    description: 'list teams, or show the one named',
    columns: teamColumns,
    list: (c) => c.listTeams(),
    one: (c, name) => c.getTeam(name),
  });
  registerListing(get, ctx, {
    kind: 'queue',
    description: 'list queues with their quotas and GPUs in use, or show the one named',
    columns: () => queueColumns,
    list: (c) => c.listQueues(),
    one: (c, name) => c.getQueue(name),
  });
  registerListing(get, ctx, {
    kind: 'cluster',
    description: 'list clusters (other planes, such as Slurm) with their sync status, or show the one named',
    columns: clusterColumns,
    list: (c) => c.listClusters(),
    one: (c, name) => c.getCluster(name),
  });
  registerGetServices(get, ctx);
}
