import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { GpufleetClient } from '../../client/api-client.js';
import type { Manifest } from '../../core/manifest.js';
import type { CliContext } from '../context.js';
import { CliError, reportError } from '../errors.js';
import { readManifests, type FileDocument } from '../manifest-file.js';

export type ApplyClient = Pick<GpufleetClient, 'putTeam' | 'putQueue' | 'submitWorkload'>;

const kindOrder: Record<Manifest['kind'], number> = { Team: 0, Queue: 1, Job: 2 };

/** Teams, then queues (which need their team), then jobs (which need their queue); file order within a kind. */
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
    case 'Job': {
      const job = await client.submitWorkload({ ...m.spec, name: m.metadata.name, team: m.metadata.team });
      return `job/${job.name} created`;
    }
  }
}

export function registerApply(program: Command, ctx: CliContext): void {
  program
    .command('apply')
    .description('create or update the teams, queues and jobs declared in a YAML file')
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
