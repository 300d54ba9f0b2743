import { Option, type Command } from 'commander';
import type { CostReportView, WasteReportView } from '../../core/telemetry-api.js';
import type { CliContext } from '../context.js';
import { percentage } from '../parsers.js';
import { formatDuration, formatStructured, outputOption, renderTable, type OutputFormat } from '../output.js';

const groupings = ['team', 'queue', 'workload'] as const;
type Grouping = (typeof groupings)[number];

const hours = (h: number) => h.toFixed(2);
const money = (m: number) => m.toFixed(2);
const percent = (f: number | null) => (f === null ? '-' : `${(f * 100).toFixed(0)}%`);

interface CostRow {
  name: string;
  allocatedGpuHours: number;
  usedGpuHours: number;
  efficiency: number | null;
  cost: number;
  unpricedGpuHours: number;
}

/** One row per team, queue or workload, then the fleet's idle and unallocated-use rows when the report covers the fleet. */
export function renderCost(report: CostReportView, by: Grouping): string {
  const rows: CostRow[] =
    by === 'team'
      ? report.byTeam.map((r) => ({ ...r, name: r.team }))
      : by === 'queue'
        ? report.byQueue.map((r) => ({ ...r, name: r.queue }))
        : report.byWorkload.map((r) => ({ ...r, name: `${r.workload} (${r.team})` }));
  const cells = rows.map((r) => [r.name, hours(r.allocatedGpuHours), hours(r.usedGpuHours), percent(r.efficiency), money(r.cost), hours(r.unpricedGpuHours)]);
  for (const [name, row] of [['(idle)', report.idle], ['(unallocated use)', report.unallocatedUse]] as const)
    if (row !== null) cells.push([name, hours(row.gpuHours), '-', '-', money(row.cost), hours(row.unpricedGpuHours)]);
  const head = `GPU cost from ${report.window.since} to ${report.window.until}${report.totals ? `: ${hours(report.totals.gpuHours)} GPU-hours, ${money(report.totals.cost)} in all` : ''}\n`;
  return head + renderTable([by, 'gpu-hours', 'used', 'efficiency', 'cost', 'unpriced'], cells);
}

export function renderWaste(report: WasteReportView): string {
  const head = `Workloads holding GPUs below ${(report.activityBelow * 100).toFixed(0)}% activity for longer than ${formatDuration(report.longerThanSeconds * 1000)}, ${report.window.since} to ${report.window.until}\n`;
  if (report.items.length === 0) return `${head}None.\n`;
  return (
    head +
    renderTable(
      ['workload', 'team', 'queue', 'idle gpus', 'longest idle', 'gpu-hours', 'cost'],
      report.items.map((w) => [w.workload, w.team, w.queue, String(w.gpus), formatDuration(w.longestIdleSeconds * 1000), hours(w.wastedGpuHours), money(w.cost)]),
    )
  );
}

const sinceOption = () => new Option('--since <when>', 'start of the window: a duration back (7d, 24h) or a time').default('7d');
const untilOption = () => new Option('--until <when>', 'end of the window (default: now)');
const teamOption = () => new Option('--team <team>', 'only this team (admins; a member sees their own team)');

export function registerCost(program: Command, ctx: CliContext): void {
  program
    .command('cost')
    .description('GPU-hours, efficiency and money per team, queue or workload (prices from the server’s --price-book)')
    .addOption(new Option('--by <grouping>', 'rows per').choices(groupings).default('team'))
    .addOption(sinceOption())
    .addOption(untilOption())
    .addOption(teamOption())
    .addOption(outputOption())
    .action(async (options: { by: Grouping; since: string; until?: string; team?: string; output: OutputFormat }) => {
      const client = await ctx.client();
      const report = await client.getCost({ since: options.since, until: options.until, team: options.team });
      ctx.stdout.write(options.output === 'table' ? renderCost(report, options.by) : formatStructured(report, options.output));
    });

  program
    .command('budgets')
    .description('each team budget: limits, spend this period, and whether the team is held to preemptible work')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      const client = await ctx.client();
      const budgets = await client.listBudgets();
      if (options.output !== 'table') return void ctx.stdout.write(formatStructured(budgets, options.output));
      if (budgets.length === 0) return void ctx.stderr.write('No budgets (gpufleet server --budgets FILE sets them).\n');
      ctx.stdout.write(
        renderTable(
          ['team', 'period', 'since', 'gpu-hours', 'cost', 'over'],
          budgets.map((b) => [
            b.team,
            b.period,
            b.since,
            `${hours(b.usedGpuHours)}${b.limitGpuHours === null ? '' : ` / ${b.limitGpuHours}`}`,
            `${money(b.usedMoney)}${b.limitMoney === null ? '' : ` / ${b.limitMoney}`}`,
            b.over ? 'yes: only preemptible work runs' : 'no',
          ]),
        ),
      );
    });

  program
    .command('waste')
    .description('workloads that held GPUs nearly idle for longer than a threshold, costliest first')
    .addOption(sinceOption())
    .addOption(untilOption())
    .addOption(teamOption())
    .addOption(new Option('--below <percent>', 'a GPU is idle below this engine activity, in %').argParser(percentage).default(5))
    .addOption(new Option('--longer-than <duration>', 'only idle stretches longer than this').default('30m'))
    .addOption(outputOption())
    .action(async (options: { since: string; until?: string; team?: string; below: number; longerThan: string; output: OutputFormat }) => {
      const client = await ctx.client();
      const report = await client.getWaste({ since: options.since, until: options.until, team: options.team, activityBelow: options.below / 100, longerThan: options.longerThan });
      ctx.stdout.write(options.output === 'table' ? renderWaste(report) : formatStructured(report, options.output));
    });
}
