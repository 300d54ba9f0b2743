import type { Command } from 'commander';
import { GpufleetClient } from '../../client/api-client.js';
import { ClientError } from '../../client/http.js';
import { loadConfig, writeConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';

export function registerLogin(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('check a server URL and API token, then save them for later commands')
    .option('--url <url>', 'server URL (default: the configured one, else http://127.0.0.1:7070)')
    .requiredOption('--token <token>', 'API token, as printed by gpufleet up or gpufleet token create')
    .action(async (options: { url?: string; token: string }) => {
      const url = options.url ?? (await loadConfig(ctx.env)).url;
      if (!URL.canParse(url)) throw new UsageError(`--url: "${url}" is not a URL; write it like http://127.0.0.1:7070`);
      const client = new GpufleetClient({ baseUrl: url, token: options.token });
      const me = await client.whoami().catch((err: unknown) => {
        if (err instanceof ClientError && err.code === 'unauthenticated')
          throw new CliError(`the server at ${client.baseUrl} rejected this token (unauthenticated); nothing was saved`);
        throw err;
      });
      const path = await writeConfig(ctx.env, { url: client.baseUrl, token: options.token });
      const scope = me.role === 'admin' ? 'admin' : `member of team ${me.team ?? '?'}`;
      ctx.stdout.write(`Logged in to ${client.baseUrl} as ${me.name} (${scope}).\n`);
      ctx.stderr.write(`Saved to ${path}.\n`);
      for (const name of ['GPUFLEET_URL', 'GPUFLEET_TOKEN'] as const)
        if (ctx.env[name]) ctx.stderr.write(`Note: ${name} is set and overrides the saved value.\n`);
    });
}
