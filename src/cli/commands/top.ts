import type { Command } from 'commander';
import type { GpuTopRow } from '../../core/telemetry-api.js';
import type { CliContext } from '../context.js';
import { formatAge, outputOption, renderTable, formatStructured, type OutputFormat } from '../output.js';
import { wholeNumber } from '../parsers.js';

const orDash = (v: number | null, f: (n: number) => string) => (v === null ? '-' : f(v));

export function renderTop(rows: readonly GpuTopRow[], now: number): string {
  return renderTable(
    ['node', 'gpu', 'model', 'workload', 'team', 'util', 'memory', 'power', 'temp', 'sampled'],
    rows.map((g) => [
      g.nodeState === 'ready' ? g.node : `${g.node} (${g.nodeState})`,
      String(g.gpu),
      g.model,
      g.workload ?? '-',
      g.team ?? '-',
      orDash(g.utilPct, (n) => `${n.toFixed(0)}%`),
      g.memoryUsedMiB === null ? '-' : `${(g.memoryUsedMiB / 1024).toFixed(1)}/${orDash(g.memoryTotalMiB, (n) => (n / 1024).toFixed(0))} GiB`,
      orDash(g.powerW, (n) => `${n.toFixed(0)} W`),
      orDash(g.tempC, (n) => `${n.toFixed(0)} C`),
      g.sampledAt ? `${formatAge(g.sampledAt, now)} ago` : 'never',
    ]),
  );
}

export function registerTop(program: Command, ctx: CliContext): void {
  program
    .command('top')
    .description('every GPU: who holds it and what it is doing now (the agents’ latest samples)')
    .option('-w, --watch <seconds>', 'redraw every N seconds until interrupted', wholeNumber)
    .addOption(outputOption())
    .action(async (options: { watch?: number; output: OutputFormat }) => {
      const client = await ctx.client();
      const draw = async () => {
        const rows = await client.listGpus();
        if (options.output !== 'table') return ctx.stdout.write(formatStructured(rows, options.output));
        if (rows.length === 0) return ctx.stderr.write('No GPUs found.\n');
        return ctx.stdout.write(renderTop(rows, ctx.now()));
      };
      if (options.watch === undefined || options.watch === 0) return void (await draw());
      for (;;) {
        // Clear the screen and home the cursor, as top(1) does.
        ctx.stdout.write('\u001b[2J\u001b[H');
        await draw();
        await new Promise((r) => setTimeout(r, options.watch! * 1000));
      }
    });
}
