import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { outputOption, writeOne, type OutputFormat } from '../output.js';

export function registerWhoami(program: Command, ctx: CliContext): void {
  program
    .command('whoami')
    .description('show which token you use, its role and team, on which server')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      const client = await ctx.client();
      const me = await client.whoami();
      writeOne(ctx, options.output, { ...me, server: client.baseUrl }, [
        { header: 'name', value: (m) => m.name },
        { header: 'role', value: (m) => m.role },
        { header: 'team', value: (m) => m.team ?? '-' },
        { header: 'server', value: (m) => m.server },
      ]);
    });
}
