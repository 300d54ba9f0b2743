import { Option, type Command } from 'commander';
import type { Role } from '../../core/api-types.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';

export function registerTokens(program: Command, ctx: CliContext): void {
  program
    .command('token')
    .description('manage API tokens')
    .command('create')
    .description('create an API token for a person or a script (admins); it is printed once')
    .requiredOption('--name <name>', 'what the token is for, e.g. alice or ci')
    .addOption(new Option('--role <role>', 'admin, or member of one team').choices(['admin', 'member']).makeOptionMandatory())
    .option('--team <team>', 'the team of a member token')
    .action(async (options: { name: string; role: Role; team?: string }) => {
      if (options.role === 'member' && !options.team) throw new UsageError('--team is required for a member token');
      const created = await (await ctx.client()).createToken(options);
      const scope = created.role === 'admin' ? 'admin' : `member of team ${created.team ?? '?'}`;
      // The token alone on stdout, so that TOKEN=$(gpufleet token create ...) works.
      ctx.stdout.write(`${created.token}\n`);
      ctx.stderr.write(`token/${created.name} created (${scope}). Store it now: it will not be shown again.\n`);
    });

  program
    .command('join-token')
    .description('manage join tokens, with which agents join the fleet')
    .command('create')
    .description('create a join token for gpufleet agent (admins)')
    .action(async () => {
      const client = await ctx.client();
      const created = await client.createJoinToken();
      ctx.stdout.write(`${created.token}\n`);
      const expiry = created.expiresAt ? `It expires at ${created.expiresAt}. ` : '';
      ctx.stderr.write(`${expiry}On the GPU machine run: gpufleet agent --server ${client.baseUrl} --join-token TOKEN\n`);
    });
}
