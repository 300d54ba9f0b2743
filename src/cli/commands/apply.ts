import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { GpufleetClient } from '../../client/api-client.js';
import { ClientError } from '../../client/http.js';
import { resolveJobRequest, type Workload } from '../../core/api-types.js';
import type { JobManifest, Manifest } from '../../core/manifest.js';
import { isTerminalWorkloadState } from '../../core/workload-state.js';
import type { CliContext } from '../context.js';
import { CliError, reportError } from '../errors.js';
import { readManifests, type FileDocument } from '../manifest-file.js';

export type ApplyClient = Pick<GpufleetClient, 'putTeam' | 'putQueue' | 'submitWorkload' | 'getWorkload' | 'putService' | 'putCluster'>;

const kindOrder: Record<Manifest['kind'], number> = { Team: 0, Cluster: 0, Queue: 1, Job: 2, Service: 2 };

/** Teams and clusters, then queues (which need their team), then jobs and services (which need their queue and cluster); file order within a kind. */
export async function applyManifests(client: ApplyClient, docs: readonly FileDocument[], fileName: string, print: (line: string) => void): Promise<void> {
  const ordered = [...docs].sort((a, b) => kindOrder[a.manifest.kind] - kindOrder[b.manifest.kind] || a.number - b.number);
  for (const [done, doc] of ordered.entries()) {
    try {
      print(await applyOne(client, doc.manifest));
    } catch (err) {
      const [first = '', ...rest] = reportError(err).lines;
      const applied = done === 0 ? 'nothing was applied' : `the ${done} before it were applied`;
      throw new CliError(`${fileName}: ${doc.label}: ${first.replace(/^error: /, '')}`, 1, [...rest, `(${applied})`]);
    }
  }
}

async function applyOne(client: ApplyClient, m: Manifest): Promise<string> {
  switch (m.kind) {
    case 'Team': {
      const { result } = await client.putTeam(m.metadata.name, {});
      return `team/${m.metadata.name} ${result}`;
    }
    case 'Queue': {
      const { result } = await client.putQueue(m.metadata.name, m.spec);
      return `queue/${m.metadata.name} ${result}`;
    }
    case 'Job':
      return applyJob(client, m);
    case 'Service': {
      const { result } = await client.putService(m.metadata.name, { ...m.spec, team: m.metadata.team });
      return `service/${m.metadata.name} ${result}`;
    }
    case 'Cluster': {
      const { result } = await client.putCluster(m.metadata.name, m.spec);
      return `cluster/${m.metadata.name} ${result}`;
    }
  }
}

/** Jobs are submitted, not updated; re-applying a file whose job is still active with the same spec changes nothing. */
async function applyJob(client: ApplyClient, m: JobManifest): Promise<string> {
  const { name, team } = m.metadata;
  try {
    await client.submitWorkload({ ...m.spec, name, team });
    return `job/${name} created`;
  } catch (err) {
    if (!(err instanceof ClientError && err.code === 'conflict')) throw err;
    const active = await client.getWorkload(name, { team });
    if (isTerminalWorkloadState(active.state)) throw err;
    if (!sameJob(m.spec, active))
      throw new CliError(`job ${name} is already active with a different spec; cancel it first: gpufleet cancel ${name}`);
    return `job/${name} unchanged`;
  }
}

/** Compared as the server resolved it (priority class defaults, quantities in MiB and seconds). */
function sameJob(spec: JobManifest['spec'], w: Workload): boolean {
  const r = resolveJobRequest(spec);
  // A server from before gangs and shares omits the newer fields: read them as their defaults.
  const models = w.gpuModels ?? (w.gpuModel !== null ? [w.gpuModel] : null);
  return (
    (spec.queue === undefined || spec.queue === w.queue) &&
    (r.gpuFraction ?? r.gpus) === w.gpus &&
    JSON.stringify(r.gpuModels) === JSON.stringify(models) &&
    r.gpuMemoryMiB === (w.gpuMemoryMiB ?? null) &&
    r.cpus === (w.cpus ?? 0) &&
    r.memoryMiB === (w.memoryMiB ?? 0) &&
    r.replicas === (w.replicas ?? 1) &&
    r.priority === w.priority &&
    r.preemptible === (w.preemptible ?? true) &&
    r.topology.required === (w.topology?.required ?? null) &&
    r.topology.preferred === (w.topology?.preferred ?? null) &&
    r.timeLimitSeconds === (w.timeLimitSeconds ?? null) &&
    r.cluster === (w.cluster ?? null) &&
    (spec.workdir ?? null) === w.workdir &&
    spec.gracePeriodSeconds === w.gracePeriodSeconds &&
    JSON.stringify(spec.command) === JSON.stringify(w.command) &&
    JSON.stringify(Object.entries(spec.env).sort()) === JSON.stringify(Object.entries(w.env).sort())
  );
}

export function registerApply(program: Command, ctx: CliContext): void {
  program
    .command('apply')
    .description('create or update the teams, queues, clusters, jobs and services declared in a YAML file')
    .requiredOption('-f, --filename <file>', 'manifest file, or - for standard input')
    .action(async (options: { filename: string }) => {
      const fileName = options.filename === '-' ? 'stdin' : options.filename;
      const docs = readManifests(await readSource(options.filename), fileName);
      const client = await ctx.client();
      await applyManifests(client, docs, fileName, (line) => ctx.stdout.write(`${line}\n`));
    });
}

async function readSource(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${file}: no such file` : `cannot read ${file}: ${(err as Error).message}`);
  }
}
