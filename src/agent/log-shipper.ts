import { open, stat } from 'node:fs/promises';
import type { LogChunk } from '../core/agent-protocol.js';
import type { Logger } from '../observe/logger.js';
import { ClientError } from '../client/http.js';
import { isNotFound, logStreams, type LogStream, type ShippedOffsets, type StateDir } from './state-dir.js';

export const maxChunkBytes = 256 * 1024;

export interface LogShipperOptions {
  stateDir: StateDir;
  upload: (chunks: LogChunk[]) => Promise<void>;
  logger: Logger;
  /** How often running replicas' logs are read; 200 ms by default. */
  pollIntervalMs?: number;
  /** Longest wait between attempts while the server fails; 2 s by default. */
  maxBackoffMs?: number;
  onShipped?: (bytes: number) => void;
  /** A finished replica whose every byte the server has acknowledged. */
  onDrained?: (replicaId: string) => void;
}

interface Tail {
  offsets: ShippedOffsets;
  finished: boolean;
}

/**
 * Ships replicas' stdout.log and stderr.log to the server from the last acknowledged byte offset.
 * An offset moves (in memory and in shipped.json) only after the server's 204, so a failed or
 * dropped upload is sent again from the same offset, and the server keeps one copy of a chunk by
 * (replicaId, stream, offset): nothing is lost, nothing is doubled, across agent restarts too.
 */
export class LogShipper {
  private readonly tails = new Map<string, Tail>();
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private passInFlight: Promise<void> | null = null;
  private failures = 0;

  constructor(private readonly options: LogShipperOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 2000;
  }

  /** Starts tailing a replica from its acknowledged offsets; `finished` when its process has already ended. */
  async track(replicaId: string, finished: boolean): Promise<void> {
    if (!this.tails.has(replicaId)) {
      const offsets = await this.options.stateDir.readShipped(replicaId);
      if (!this.tails.has(replicaId)) this.tails.set(replicaId, { offsets, finished: false });
    }
    if (finished) this.finished(replicaId);
  }

  /** The process ended: what it wrote is now complete; ship the rest, then report the replica drained. */
  finished(replicaId: string): void {
    const tail = this.tails.get(replicaId);
    if (tail) tail.finished = true;
    this.kick();
  }

  forget(replicaId: string): void {
    this.tails.delete(replicaId);
  }

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.passInFlight;
  }

  /** Ships what is there now; resolves when done or when the server fails. */
  flush(): Promise<void> {
    this.passInFlight ??= this.pass().finally(() => (this.passInFlight = null));
    return this.passInFlight;
  }

  /** Ship soon rather than at the next poll (a replica just ended). */
  private kick(): void {
    if (this.running && this.failures === 0) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush().then(() => {
        if (this.failures === 0) this.schedule(this.pollIntervalMs);
        else this.schedule(Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(this.failures, 10)));
      });
    }, delayMs);
  }

  private async pass(): Promise<void> {
    for (const [replicaId, tail] of [...this.tails]) {
      try {
        const drained = await this.shipReplica(replicaId, tail);
        if (drained && this.tails.get(replicaId) === tail) {
          this.tails.delete(replicaId);
          this.options.onDrained?.(replicaId);
        }
      } catch (err) {
        if (this.failures++ === 0) this.options.logger.warn({ err: (err as Error).message }, 'cannot ship logs; they stay on disk and are sent when the server answers');
        return;
      }
    }
    if (this.failures > 0) this.options.logger.info('shipping logs again');
    this.failures = 0;
  }

  /** Ships everything a replica has written so far; true when it has ended and all of it is acknowledged. */
  private async shipReplica(replicaId: string, tail: Tail): Promise<boolean> {
    // Read `finished` before the files: whatever a finished process wrote is on disk by then.
    const finished = tail.finished;
    const paths = this.options.stateDir.replica(replicaId);
    for (const stream of logStreams) {
      for (;;) {
        const chunk = await readChunk(paths[stream], tail.offsets[stream], finished);
        if (chunk === null) break;
        await this.uploadChunk(replicaId, stream, tail, chunk);
        if (!chunk.more) break;
      }
    }
    if (!finished) return false;
    for (const stream of logStreams) if ((await fileSize(paths[stream])) > tail.offsets[stream]) return false;
    return true;
  }

  private async uploadChunk(replicaId: string, stream: LogStream, tail: Tail, chunk: Chunk): Promise<void> {
    const offset = tail.offsets[stream];
    try {
      await this.options.upload([{ replicaId, stream, offset, data: chunk.data }]);
      this.options.onShipped?.(chunk.bytes);
    } catch (err) {
      if (!isRejection(err)) throw err;
      // The server will refuse this chunk every time; skipping it loses one chunk instead of the rest of the log.
      this.options.logger.warn({ replicaId, stream, offset, bytes: chunk.bytes, err: (err as Error).message }, 'the server refused a log chunk; skipping it');
    }
    tail.offsets[stream] = offset + chunk.bytes;
    await this.options.stateDir.writeShipped(replicaId, tail.offsets);
  }
}

/** A 4xx that retrying cannot fix (401 and 429 can be fixed by time: re-registration, rate). */
function isRejection(err: unknown): boolean {
  return err instanceof ClientError && err.status !== null && err.status >= 400 && err.status < 500 && ![401, 408, 429].includes(err.status);
}

export interface Chunk {
  data: string;
  /** How many bytes of the file the chunk covers. */
  bytes: number;
  /** The read was cut by the size limit: more may follow at once. */
  more: boolean;
}

/**
 * Up to maxChunkBytes from `offset`, cut before an incomplete UTF-8 character so that no character is
 * split across chunks; null when there is nothing (whole) to ship. At the end of a finished stream an
 * incomplete character is shipped as it is: it will never be completed.
 */
export async function readChunk(path: string, offset: number, final: boolean): Promise<Chunk | null> {
  // A stat first: most polls find nothing new, and then nothing is opened or allocated.
  const size = await fileSize(path);
  if (size <= offset) return null;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  try {
    const buffer = Buffer.alloc(Math.min(maxChunkBytes, size - offset));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    const more = bytesRead === maxChunkBytes;
    const cut = final && !more ? bytesRead : completeUtf8Length(buffer.subarray(0, bytesRead));
    return cut === 0 ? null : { data: buffer.toString('utf8', 0, cut), bytes: cut, more };
  } finally {
    await handle.close();
  }
}

/** The length of the longest prefix that does not end inside a UTF-8 character. */
export function completeUtf8Length(bytes: Uint8Array): number {
  const n = bytes.length;
  // Step back over continuation bytes (10xxxxxx) to the lead byte of the last character, at most 3.
  let i = n - 1;
  while (i >= 0 && i > n - 4 && (bytes[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return n;
  const lead = bytes[i]!;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if ((lead & 0xc0) === 0x80) return n; // not UTF-8 to begin with: nothing to keep whole
  return i + length > n ? i : n;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
}
