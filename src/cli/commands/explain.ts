import type { Command } from 'commander';
import type { Explanation } from '../../core/api-types.js';
import type { CliContext } from '../context.js';
import { formatStructured, outputOption, renderTable, type OutputFormat } from '../output.js';

/** One row per reason, ranked: the first is what `ps` shows. */
export function renderExplanation(e: Explanation): string {
  const head = `job/${e.workload} is ${e.state}\n`;
  if (e.reasons.length === 0) return head;
  return head + renderTable(['#', 'reason'], e.reasons.map((r, i) => [String(i + 1), r]));
}

export function registerExplain(program: Command, ctx: CliContext): void {
  program
    .command('explain')
    .description('say why a job waits (the scheduler’s reasons, most relevant first) or how it ended')
    .argument('<ref>', 'job id or name')
    .option('--team <team>', 'team of the job named REF (admins)')
    .addOption(outputOption())
    .action(async (ref: string, options: { team?: string; output: OutputFormat }) => {
      const client = await ctx.client();
      const explanation = await client.explainWorkload(ref, { team: options.team });
      ctx.stdout.write(options.output === 'table' ? renderExplanation(explanation) : formatStructured(explanation, options.output));
    });
}
