import type { Command } from 'commander';
import type { LogEntry } from '../../core/api-types.js';
import type { CliContext } from '../context.js';
import { retryWhileUnreachable } from '../retry.js';

const followWaitMs = 10_000;

export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description("print a job's output: stdout to stdout, stderr to stderr")
    .argument('<ref>', 'job id or name')
    .option('-f, --follow', 'keep printing new output until the job ends')
    .option('--team <team>', 'team of the job named REF (admins)')
    .action(async (ref: string, options: { follow?: boolean; team?: string }) => {
      const client = await ctx.client();
      // Resolve the name once so that a new job of the same name cannot take over the stream.
      const { id } = await client.getWorkload(ref, { team: options.team });
      let cursor = 0;
      for (;;) {
        const waitMs = options.follow ? followWaitMs : 0;
        const page = await retryWhileUnreachable(() => client.getLogs(id, cursor, waitMs));
        for (const entry of page.entries) write(ctx, entry);
        cursor = page.cursor;
        if (page.done || (!options.follow && page.entries.length === 0)) return;
      }
    });
}

/** Entries are chunks of the job's byte streams, newlines included, so they are written as they are. */
function write(ctx: CliContext, entry: LogEntry): void {
  (entry.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(entry.data);
}
