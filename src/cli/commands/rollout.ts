import { Argument, type Command } from 'commander';
import type { RolloutStatus } from '../../client/api-client.js';
import type { VersionWindow } from '../../core/rollout-types.js';
import type { CliContext } from '../context.js';
import { outputOption, writeOne, type Column, type OutputFormat } from '../output.js';

function figures(w: VersionWindow | null | undefined): string {
  if (!w) return '-';
  const errors = w.errorRate === null ? '-' : `${(w.errorRate * 100).toFixed(1)}%`;
  const itl = w.itlP95Ms === null || w.itlP95Ms === undefined ? '' : `, p95 inter-token ${Math.round(w.itlP95Ms)}ms`;
  return `${w.requests} req, ${errors} errors, p95 TTFT ${w.ttftP95Ms === null ? '-' : `${Math.round(w.ttftP95Ms)}ms`}${itl}`;
}

const columns: Column<RolloutStatus>[] = [
  { header: 'service', value: (s) => s.service },
  { header: 'phase', value: (s) => s.rollout?.phase ?? 'none' },
  { header: 'versions', value: (s) => (s.rollout ? `${s.rollout.stableVersion} → ${s.rollout.canaryVersion} (${s.rollout.strategy})` : s.version) },
  { header: 'step', value: (s) => (s.rollout && s.rollout.step >= 0 ? `${s.rollout.step + 1}/${s.rollout.steps.length}` : '-') },
  { header: 'weights', value: (s) => Object.entries(s.weights).map(([v, w]) => `${v}=${w}%`).join(' ') },
  { header: 'stable', value: (s) => figures(s.rollout?.stable ?? s.rollout?.stableReference) },
  { header: 'canary', value: (s) => figures(s.rollout?.canary) },
  { header: 'message', value: (s) => s.rollout?.message ?? '-' },
];

/** `gpufleet rollout status|promote|abort SERVICE`: a rollout starts when `apply` changes a service's version. */
export function registerRollout(program: Command, ctx: CliContext): void {
  program
    .command('rollout')
    .description("show, promote or abort the rollout of a service's new version (started by applying a new version)")
    .addArgument(new Argument('<action>', 'status: where it stands; promote: the new version at full size, promoted once ready; abort: back to the stable version now').choices(['status', 'promote', 'abort']))
    .argument('<service>', 'service name')
    .option('--team <team>', 'the team of the service (admins; default: default)')
    .addOption(outputOption())
    .action(async (action: 'status' | 'promote' | 'abort', service: string, options: { team?: string; output: OutputFormat }) => {
      const status = await (await ctx.client()).rollout(service, action, { team: options.team });
      writeOne(ctx, options.output, status, columns);
    });
}
