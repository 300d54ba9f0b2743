import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerDeleteService } from './services.js';

export function registerDelete(program: Command, ctx: CliContext): void {
  const del = program.command('delete').description('delete a team, a queue, a service or a cluster');
  del
    .command('team')
    .description('delete a team; refused while it has queues or active jobs')
    .argument('<name>', 'team name')
    .action(async (name: string) => {
      await (await ctx.client()).deleteTeam(name);
      ctx.stdout.write(`team/${name} deleted\n`);
    });
  del
    .command('queue')
    .description('delete a queue; refused while it has active jobs')
    .argument('<name>', 'queue name')
    .action(async (name: string) => {
      await (await ctx.client()).deleteQueue(name);
      ctx.stdout.write(`queue/${name} deleted\n`);
    });
  del
    .command('cluster')
    .description('delete a cluster; its machines leave the inventory. Refused while workloads run on it, unless --force')
    .argument('<name>', 'cluster name')
    .option('--force', 'requeue the workloads active on it and cancel their jobs')
    .action(async (name: string, options: { force?: boolean }) => {
      await (await ctx.client()).deleteCluster(name, { force: options.force === true });
      ctx.stdout.write(`cluster/${name} deleted\n`);
    });
  registerDeleteService(del, ctx);
}
