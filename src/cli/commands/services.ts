import type { Command } from 'commander';
import type { Service } from '../../core/service-types.js';
import type { CliContext } from '../context.js';
import { formatAge, outputOption, writeList, writeOne, type Column, type OutputFormat } from '../output.js';

export function serviceColumns(now: number): Column<Service>[] {
  return [
    { header: 'name', value: (s) => s.name },
    { header: 'team', value: (s) => s.team },
    { header: 'model', value: (s) => s.model },
    { header: 'version', value: (s) => s.version },
    { header: 'ready', value: (s) => `${s.readyReplicas}/${s.replicas}` },
    { header: 'scaling', value: (s) => (s.spec.autoscaling ? `auto ${(s.spec.autoscaling as { min: number }).min}-${(s.spec.autoscaling as { max: number }).max}` : 'fixed') },
    { header: 'rollout', value: (s) => (s.rollout?.phase === 'progressing' ? `${s.rollout.canaryVersion} at ${s.rollout.weight}%` : '-') },
    { header: 'endpoints', value: (s) => (s.endpoints.length === 0 ? '-' : s.endpoints.map((e) => e.url).join(' ')) },
    { header: 'age', value: (s) => formatAge(s.createdAt, now) },
  ];
}

/** `get services`; services are created and changed with `apply -f`. */
export function registerGetServices(get: Command, ctx: CliContext): void {
  get
    .command('services')
    .alias('service')
    .description('list services with their ready replicas and endpoints, or show the one named')
    .argument('[name]', 'service name')
    .option('--team <team>', 'the team of the service named (admins; default: default)')
    .addOption(outputOption())
    .action(async (name: string | undefined, options: { output: OutputFormat; team?: string }) => {
      const client = await ctx.client();
      const columns = serviceColumns(ctx.now());
      if (name) writeOne(ctx, options.output, await client.getService(name, { team: options.team }), columns);
      else writeList(ctx, options.output, await client.listServices(), columns, 'services');
    });
}

export function registerDeleteService(del: Command, ctx: CliContext): void {
  del
    .command('service')
    .description('delete a service; its replicas get SIGTERM, then SIGKILL')
    .argument('<name>', 'service name')
    .option('--team <team>', 'the team of the service (admins; default: default)')
    .action(async (name: string, options: { team?: string }) => {
      await (await ctx.client()).deleteService(name, { team: options.team });
      ctx.stdout.write(`service/${name} deleted\n`);
    });
}
