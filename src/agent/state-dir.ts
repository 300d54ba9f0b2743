import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { assignmentSchema, type Assignment } from '../core/agent-protocol.js';

/**
 * What the agent keeps on disk so that a restarted agent knows its node and its replicas:
 *
 *   node.json                      identity and credential (mode 0600)
 *   replicas/<replicaId>.<generation>/   one folder per launch, named by its idempotency key (the
 *                                  executor's external id); agents before the executor SPI named it
 *                                  <replicaId> alone, and such folders are still read (agent-executor.ts)
 *     assignment.json              what the server asked for; its presence means "known, never start again"
 *     stdout.log, stderr.log       the process's output, written by the process itself
 *     pid                          the process group leader's pid, plain, as pid files are (`kill -- -$(cat pid)`)
 *     start-time                   its start time: tells the live process from a later one that reuses the pid
 *     exit                         how it ended (see readExit)
 *     shipped.json                 byte offsets of each stream the server has acknowledged
 *
 * Every file but the logs is replaced atomically (write a temporary file, rename), so a crash leaves
 * the old version or the new one, never half of one.
 */

export const logStreams = ['stdout', 'stderr'] as const;
export type LogStream = (typeof logStreams)[number];

export interface NodeIdentity {
  nodeId: string;
  credential: string;
  name: string;
  serverUrl: string;
}

export interface PidRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat; null when the process was gone before it could be read. */
  startTime: string | null;
}

/** How a replica's process ended, as the agent saw it. */
export interface ExitRecord {
  exitCode: number | null;
  message: string | null;
  /** The agent stopped it (on the server's request), as opposed to the process ending by itself. */
  stopped: boolean;
}

export type ShippedOffsets = Record<LogStream, number>;

const nodeIdentitySchema = z.object({ nodeId: z.string(), credential: z.string(), name: z.string(), serverUrl: z.string() });
const exitRecordSchema = z.object({ exitCode: z.number().int().nullable(), message: z.string().nullable(), stopped: z.boolean() });
const shippedSchema = z.object({ stdout: z.number().int().min(0), stderr: z.number().int().min(0) });

/**
 * Replica ids come from the server and, with the generation, become folder names: nothing that could
 * climb out of replicas/. Long enough for a 64-character replica id and its generation.
 */
const folderPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

export function isSafeFolderName(name: string): boolean {
  return folderPattern.test(name);
}

export interface ReplicaPaths {
  dir: string;
  assignment: string;
  stdout: string;
  stderr: string;
  pid: string;
  startTime: string;
  exit: string;
  shipped: string;
}

export class StateDir {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'replicas'), { recursive: true, mode: 0o700 });
  }

  async readNode(): Promise<NodeIdentity | null> {
    return readJson(join(this.root, 'node.json'), nodeIdentitySchema);
  }

  async writeNode(identity: NodeIdentity): Promise<void> {
    // fsync before the rename: losing the credential to a power cut would orphan the node.
    await writeAtomic(join(this.root, 'node.json'), JSON.stringify(identity, null, 2) + '\n', { mode: 0o600, durable: true });
  }

  replica(id: string): ReplicaPaths {
    if (!isSafeFolderName(id)) throw new Error(`${JSON.stringify(id)} cannot name a replica folder`);
    const dir = join(this.root, 'replicas', id);
    return {
      dir,
      assignment: join(dir, 'assignment.json'),
      stdout: join(dir, 'stdout.log'),
      stderr: join(dir, 'stderr.log'),
      pid: join(dir, 'pid'),
      startTime: join(dir, 'start-time'),
      exit: join(dir, 'exit'),
      shipped: join(dir, 'shipped.json'),
    };
  }

  async listReplicaIds(): Promise<string[]> {
    try {
      const entries = await readdir(join(this.root, 'replicas'), { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && isSafeFolderName(e.name)).map((e) => e.name).sort();
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  /** Creates the replica's folder `id` with its assignment: from here on the replica is known and is never started again. */
  async createReplica(id: string, assignment: Assignment): Promise<ReplicaPaths> {
    const paths = this.replica(id);
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(paths.assignment, JSON.stringify(assignment, null, 2) + '\n');
    return paths;
  }

  readAssignment(id: string): Promise<Assignment | null> {
    return readJson(this.replica(id).assignment, assignmentSchema);
  }

  /** The start time goes first: a pid without it cannot be told from a reused one, and is never adopted. */
  async writePid(id: string, record: PidRecord): Promise<void> {
    const paths = this.replica(id);
    if (record.startTime !== null) await writeAtomic(paths.startTime, record.startTime + '\n');
    await writeAtomic(paths.pid, `${record.pid}\n`);
  }

  async readPid(id: string): Promise<PidRecord | null> {
    const paths = this.replica(id);
    const pid = Number((await readText(paths.pid))?.trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    return { pid, startTime: (await readText(paths.startTime))?.trim() || null };
  }

  writeExit(id: string, record: ExitRecord): Promise<void> {
    return writeAtomic(this.replica(id).exit, JSON.stringify(record) + '\n');
  }

  /**
   * The `exit` file holds either an ExitRecord written by the agent, or a bare exit status written by
   * the launch wrapper when the process ended while no agent was watching (see process-runner.ts).
   */
  async readExit(id: string): Promise<ExitRecord | null> {
    const text = await readText(this.replica(id).exit);
    if (text === null) return null;
    if (/^\s*\d+\s*$/.test(text)) return { exitCode: Number(text.trim()), message: null, stopped: false };
    const parsed = exitRecordSchema.safeParse(parseJsonOrUndefined(text));
    return parsed.success ? parsed.data : null;
  }

  async readShipped(id: string): Promise<ShippedOffsets> {
    return (await readJson(this.replica(id).shipped, shippedSchema)) ?? { stdout: 0, stderr: 0 };
  }

  writeShipped(id: string, offsets: ShippedOffsets): Promise<void> {
    return writeAtomic(this.replica(id).shipped, JSON.stringify(offsets) + '\n');
  }

  async removeReplica(id: string): Promise<void> {
    await rm(this.replica(id).dir, { recursive: true, force: true });
  }
}

async function writeAtomic(path: string, content: string, options: { mode?: number; durable?: boolean } = {}): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', options.mode ?? 0o644);
  try {
    await handle.writeFile(content, 'utf8');
    if (options.durable) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** A missing or unreadable file reads as null: every caller has a sensible default for "not known". */
async function readJson<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S> | null> {
  const text = await readText(path);
  if (text === null) return null;
  const parsed = schema.safeParse(parseJsonOrUndefined(text));
  return parsed.success ? parsed.data : null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}
