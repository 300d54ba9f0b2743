import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerCancel(program: Command, ctx: CliContext): void {
  program
    .command('cancel')
    .description('cancel a job: its processes get SIGTERM, then SIGKILL after the grace period')
    .argument('<ref>', 'job id or name')
    .option('--team <team>', 'team of the job named REF (admins)')
    .action(async (ref: string, options: { team?: string }) => {
      const client = await ctx.client();
      const job = await client.cancelWorkload(ref, { team: options.team });
      ctx.stdout.write(`job/${job.name} ${job.state === 'cancelled' ? 'cancelled' : `cancel requested (now ${job.state})`}\n`);
    });
}
