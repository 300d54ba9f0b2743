import type { Command } from 'commander';
import type { Node } from '../../core/api-types.js';
import type { CliContext } from '../context.js';
import { formatAge, outputOption, writeList, type Column, type OutputFormat } from '../output.js';

/** `8x H100-80GB (80 GiB)`, one group per model, in the order the node lists them. */
export function describeGpus(gpus: readonly { model: string; memoryMiB: number }[]): string {
  if (gpus.length === 0) return '-';
  const groups = new Map<string, { count: number; memoryMiB: number }>();
  for (const gpu of gpus) {
    const group = groups.get(gpu.model) ?? { count: 0, memoryMiB: gpu.memoryMiB };
    group.count += 1;
    groups.set(gpu.model, group);
  }
  return [...groups]
    .map(([model, g]) => `${g.count}x ${model}${g.memoryMiB > 0 ? ` (${Math.round(g.memoryMiB / 1024)} GiB)` : ''}`)
    .join(', ');
}

export function nodeColumns(now: number): Column<Node>[] {
  return [
    { header: 'node', value: (n) => n.name },
    { header: 'plane', value: (n) => n.plane },
    { header: 'state', value: (n) => (n.simulated ? `${n.state} (simulated)` : n.state) },
    { header: 'gpus', value: (n) => describeGpus(n.gpus) },
    { header: 'allocated', value: (n) => String(n.gpus.filter((g) => g.allocatedTo !== null).length) },
    { header: 'free', value: (n) => String(n.gpus.filter((g) => g.allocatedTo === null).length) },
    { header: 'heartbeat', value: (n) => (n.lastHeartbeatAt ? `${formatAge(n.lastHeartbeatAt, now)} ago` : 'never') },
  ];
}

export function registerNodes(program: Command, ctx: CliContext): void {
  program
    .command('nodes')
    .description('list the machines in the fleet, their GPUs and what is allocated')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      const client = await ctx.client();
      writeList(ctx, options.output, await client.listNodes(), nodeColumns(ctx.now()), 'nodes');
    });
}
