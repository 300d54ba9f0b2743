import type { LogChunk } from '../core/agent-protocol.js';
import type { LogRead } from '../executors/spi.js';
import type { Logger } from '../observe/logger.js';
import { ClientError } from '../client/http.js';
import { logStreams, type LogStream, type ShippedOffsets, type StateDir } from './state-dir.js';

export interface LogShipperOptions {
  /** Keeps the acknowledged offsets, in each replica's folder. */
  stateDir: StateDir;
  /** The executor's `logs()`: what a replica wrote from an offset, `done` once it ended and all of it was read. */
  read: (externalId: string, stream: LogStream, fromOffset: number) => Promise<LogRead>;
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
  /** The replica's id in the executor (its folder). */
  externalId: string;
  offsets: ShippedOffsets;
  finished: boolean;
}

/**
 * Ships replicas' output, read through the executor, to the server from the last acknowledged byte offset.
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
  async track(replicaId: string, externalId: string, finished: boolean): Promise<void> {
    if (!this.tails.has(replicaId)) {
      const offsets = await this.options.stateDir.readShipped(externalId);
      if (!this.tails.has(replicaId)) this.tails.set(replicaId, { externalId, offsets, finished: false });
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
    // Read `finished` before the output: whatever a finished process wrote is complete by then.
    const finished = tail.finished;
    let done = true;
    for (const stream of logStreams) {
      for (;;) {
        const read = await this.options.read(tail.externalId, stream, tail.offsets[stream]);
        if (read.nextOffset > tail.offsets[stream]) await this.upload(replicaId, stream, tail, read);
        if (read.done || read.data === '') {
          done &&= read.done;
          break;
        }
      }
    }
    return finished && done;
  }

  private async upload(replicaId: string, stream: LogStream, tail: Tail, read: LogRead): Promise<void> {
    const offset = tail.offsets[stream];
    const bytes = read.nextOffset - offset;
    try {
      await this.options.upload([{ replicaId, stream, offset, data: read.data }]);
      this.options.onShipped?.(bytes);
    } catch (err) {
      if (!isRejection(err)) throw err;
      // The server will refuse this chunk every time; skipping it loses one chunk instead of the rest of the log.
      this.options.logger.warn({ replicaId, stream, offset, bytes, err: (err as Error).message }, 'the server refused a log chunk; skipping it');
    }
    tail.offsets[stream] = read.nextOffset;
    await this.options.stateDir.writeShipped(tail.externalId, tail.offsets);
  }
}

/** A 4xx that retrying cannot fix (401 and 429 can be fixed by time: re-registration, rate). */
function isRejection(err: unknown): boolean {
  return err instanceof ClientError && err.status !== null && err.status >= 400 && err.status < 500 && ![401, 408, 429].includes(err.status);
}
