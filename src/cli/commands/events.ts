import type { Command } from 'commander';
import type { AlertView, EventView } from '../../core/telemetry-api.js';
import type { CliContext } from '../context.js';
import { formatStructured, outputOption, renderTable, type OutputFormat } from '../output.js';
import { wholeNumber } from '../parsers.js';

export function renderEvents(events: readonly EventView[], header = true): string {
  const table = renderTable(
    ['time', 'actor', 'kind', 'target', 'message'],
    events.map((e) => [e.at, e.actor, e.kind, `${e.targetKind}/${e.target ?? e.targetId}`, e.message]),
  );
  return header ? table : table.slice(table.indexOf('\n') + 1);
}

interface EventsOptions {
  since?: string;
  until?: string;
  kind?: string;
  target?: string;
  actor?: string;
  limit: number;
  follow?: boolean;
  output: OutputFormat;
}

export function renderAlerts(alerts: readonly AlertView[]): string {
  return renderTable(
    ['time', 'severity', 'state', 'service', 'objective', 'burn (long/short)', 'changes before'],
    alerts.map((a) => [a.at, a.severity, a.state, a.service, `${a.objective} ${a.target}`, `${a.longBurn.toFixed(1)}× / ${a.shortBurn.toFixed(1)}×`, a.changes.map((c) => c.kind).join(', ') || '-']),
  );
}

export function registerEvents(program: Command, ctx: CliContext): void {
  program
    .command('alerts')
    .description('SLO burn-rate alerts firing now (--history: raised and resolved since --since), with the changes in the hour before each')
    .option('--since <when>', 'how far back the history goes', '24h')
    .option('--history', 'every alert raised or resolved since --since, not only those firing')
    .addOption(outputOption())
    .action(async (options: { since: string; history?: boolean; output: OutputFormat }) => {
      const client = await ctx.client();
      const alerts = await client.listAlerts(options.since);
      const shown = options.history ? alerts.history : alerts.firing;
      if (options.output !== 'table') return void ctx.stdout.write(formatStructured(shown, options.output));
      if (shown.length === 0) return void ctx.stderr.write(options.history ? 'No alerts.\n' : 'No alert is firing.\n');
      ctx.stdout.write(renderAlerts(shown));
    });

  program
    .command('events')
    .description('what changed in the fleet: applies, submissions, admissions, preemptions, scaling, nodes joining and lost')
    .option('--since <when>', 'a duration back (1h, 7d) or a time')
    .option('--until <when>', 'end of the window')
    .option('--kind <kinds>', 'kinds, comma-separated (node.lost,workload.preempted); workload. takes the whole family')
    .option('--target <target>', 'KIND/NAME, e.g. workload/train-7, node/gpu-3, service/chat; or a kind alone')
    .option('--actor <actor>', 'who made the change: a user, node:<id>, scheduler, system')
    .option('--limit <n>', 'the newest N events', wholeNumber, 100)
    .option('-f, --follow', 'keep printing new events until interrupted')
    .addOption(outputOption())
    .action(async (options: EventsOptions) => {
      const client = await ctx.client();
      const query = { since: options.since, until: options.until, kind: options.kind, target: options.target, actor: options.actor, limit: options.limit };
      let events = await client.listEvents(query);
      if (options.output !== 'table') {
        ctx.stdout.write(formatStructured(events, options.output));
      } else if (events.length === 0 && !options.follow) {
        ctx.stderr.write('No events found.\n');
      } else if (events.length > 0) {
        ctx.stdout.write(renderEvents(events));
      }
      if (!options.follow) return;
      let after = events.at(-1)?.id ?? 0;
      let header = events.length === 0;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        events = await client.listEvents({ ...query, since: undefined, after, limit: 1000 });
        if (events.length === 0) continue;
        ctx.stdout.write(options.output === 'table' ? renderEvents(events, header) : formatStructured(events, options.output));
        header = false;
        after = events.at(-1)!.id;
      }
    });
}
