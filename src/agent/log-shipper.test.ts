import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from '../../test/support/local-http-server.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testAssignment } from '../../test/support/assignments.js';
import type { Assignment, LogChunk } from '../core/agent-protocol.js';
import { AgentClient } from '../client/agent-client.js';
import { createLogger } from '../observe/logger.js';
import { maxChunkBytes, readLog } from '../executors/log-files.js';
import { LogShipper, type LogShipperOptions } from './log-shipper.js';
import { StateDir } from './state-dir.js';

const silent = createLogger({ name: 'test', level: 'silent' });

/** A stand-in for the server's log endpoint: keeps one copy of each (replicaId, stream, offset), as the server does. */
class FakeLogServer extends LocalHttpServer {
  readonly chunks = new Map<string, LogChunk>();
  requests = 0;
  duplicates = 0;
  /** What to do with the next requests, in order: answer 500, take the chunk but drop the connection, or refuse it with 400. */
  script: Array<'fail' | 'drop' | 'refuse'> = [];

  stream(replicaId: string, stream: string): string {
    const mine = [...this.chunks.values()].filter((c) => c.replicaId === replicaId && c.stream === stream).sort((a, b) => a.offset - b.offset);
    let expected = 0;
    for (const c of mine) {
      expect(c.offset, 'chunks are contiguous').toBe(expected);
      expected += Buffer.byteLength(c.data);
    }
    return mine.map((c) => c.data).join('');
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const body = Buffer.concat(parts).toString('utf8');
    this.requests++;
    const action = this.script.shift();
    if (action === 'fail') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":"internal","message":"boom"}');
    if (action === 'refuse') return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":"invalid_request","message":"no"}');
    for (const chunk of (JSON.parse(body) as { chunks: LogChunk[] }).chunks) {
      expect(Buffer.byteLength(chunk.data)).toBeLessThanOrEqual(maxChunkBytes);
      const key = `${chunk.replicaId}/${chunk.stream}/${chunk.offset}`;
      if (this.chunks.has(key)) this.duplicates++;
      else this.chunks.set(key, chunk);
    }
    if (action === 'drop') return void req.socket.destroy();
    res.writeHead(204).end();
  }
}

const replicaId = 'r-logs1';
const assignment: Assignment = testAssignment({ replicaId, workloadId: 'j-1', gpuIndices: [], gpuUuids: [], gracePeriodMs: 0 });

describe('log shipper', () => {
  let root: string;
  let state: StateDir;
  let server: FakeLogServer;
  let shippers: LogShipper[];
  /** Whether the replica's process has ended, as the executor would say. */
  let ended: boolean;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gpufleet-logs-'));
    state = new StateDir(root);
    await state.init();
    await state.createReplica(replicaId, assignment);
    server = new FakeLogServer();
    await server.start();
    shippers = [];
    ended = false;
  });
  afterEach(async () => {
    for (const s of shippers) await s.stop();
    await server.stop();
    await rm(root, { recursive: true, force: true });
  });

  function shipper(overrides: Partial<LogShipperOptions> = {}): { shipper: LogShipper; drained: Promise<string>; shipped: () => number } {
    const client = new AgentClient({ serverUrl: server.url, credential: 'gfn_test', timeoutMs: 2000 });
    let bytes = 0;
    let onDrained!: (id: string) => void;
    const drained = new Promise<string>((resolve) => (onDrained = resolve));
    const s = new LogShipper({
      stateDir: state,
      read: (id, stream, offset) => readLog(state.replica(id)[stream], offset, ended),
      upload: (chunks) => client.uploadLogs(chunks),
      logger: silent,
      pollIntervalMs: 20,
      maxBackoffMs: 50,
      onShipped: (n) => (bytes += n),
      onDrained,
      ...overrides,
    });
    shippers.push(s);
    return { shipper: s, drained, shipped: () => bytes };
  }

  /** Big enough for several chunks, with multi-byte characters wherever a chunk boundary may fall. */
  function sampleLog(lines: number): string {
    let text = '';
    for (let i = 0; i < lines; i++) text += `step ${i} loss=0.${i % 997} ✓ 温度 🚀 ${'é'.repeat(i % 7)}\n`;
    return text;
  }

  it('ships a growing log and then the rest once the process ended', async () => {
    const { shipper: s, drained, shipped } = shipper();
    const paths = state.replica(replicaId);
    await writeFile(paths.stdout, 'starting\n');
    await s.track(replicaId, replicaId, false);
    s.start();
    // Written in pieces that end mid-character, as a process's writes may.
    const more = Buffer.from(sampleLog(20_000));
    for (let i = 0; i < more.length; i += 100_001) {
      await appendFile(paths.stdout, more.subarray(i, i + 100_001));
      await new Promise((r) => setTimeout(r, 30));
    }
    await appendFile(paths.stderr, 'warning: something\n');
    ended = true;
    s.finished(replicaId);
    expect(await drained).toBe(replicaId);

    const stdout = await readFile(paths.stdout, 'utf8');
    expect(Buffer.byteLength(stdout)).toBeGreaterThan(3 * maxChunkBytes);
    expect(server.stream(replicaId, 'stdout')).toBe(stdout);
    expect(server.stream(replicaId, 'stderr')).toBe('warning: something\n');
    expect(server.duplicates).toBe(0);
    expect(await state.readShipped(replicaId)).toEqual({ stdout: Buffer.byteLength(stdout), stderr: 19 });
    expect(shipped()).toBe(Buffer.byteLength(stdout) + 19);
    for (const chunk of server.chunks.values()) expect(chunk.data).not.toContain('\uFFFD');
  });

  it('loses and doubles nothing when the server fails or drops the connection mid-way', async () => {
    const paths = state.replica(replicaId);
    const text = sampleLog(30_000);
    await writeFile(paths.stdout, text);
    server.script = [undefined as never, 'fail', 'drop', undefined as never, 'drop', 'fail', 'fail'];
    const { shipper: s, drained } = shipper();
    ended = true;
    await s.track(replicaId, replicaId, true);
    s.start();
    await drained;
    expect(server.stream(replicaId, 'stdout')).toBe(text);
    expect(server.duplicates).toBe(2); // the two dropped answers: sent again from the same offset, kept once
  });

  it('keeps the logs while the server is down and ships them when it is back', async () => {
    const paths = state.replica(replicaId);
    await writeFile(paths.stdout, 'line 1\n');
    const port = Number(new URL(server.url).port);
    await server.stop();
    const { shipper: s, drained } = shipper();
    await s.track(replicaId, replicaId, false);
    s.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(await state.readShipped(replicaId)).toEqual({ stdout: 0, stderr: 0 });
    await appendFile(paths.stdout, 'line 2\n');
    ended = true;
    s.finished(replicaId);

    server = new FakeLogServer();
    await server.start(port);
    await drained;
    expect(server.stream(replicaId, 'stdout')).toBe('line 1\nline 2\n');
  });

  it('resumes after a restart from the acknowledged offsets', async () => {
    const paths = state.replica(replicaId);
    await writeFile(paths.stdout, 'before restart\n');
    const first = shipper();
    await first.shipper.track(replicaId, replicaId, false);
    await first.shipper.flush();
    await first.shipper.stop();
    expect(await state.readShipped(replicaId)).toEqual({ stdout: 15, stderr: 0 });

    await appendFile(paths.stdout, 'after restart\n');
    const second = shipper();
    ended = true;
    await second.shipper.track(replicaId, replicaId, true);
    second.shipper.start();
    await second.drained;
    expect(server.stream(replicaId, 'stdout')).toBe('before restart\nafter restart\n');
    expect(server.duplicates).toBe(0);
    expect([...server.chunks.values()].map((c) => c.offset)).toEqual([0, 15]);
  });

  it('skips a chunk the server refuses rather than blocking the log', async () => {
    const paths = state.replica(replicaId);
    await writeFile(paths.stdout, 'x'.repeat(maxChunkBytes) + 'tail\n');
    server.script = ['refuse'];
    const { shipper: s, drained } = shipper();
    ended = true;
    await s.track(replicaId, replicaId, true);
    s.start();
    await drained;
    expect([...server.chunks.values()].map((c) => [c.offset, c.data])).toEqual([[maxChunkBytes, 'tail\n']]);
  });
});
