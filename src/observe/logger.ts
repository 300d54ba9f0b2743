import { pino, type Logger, type DestinationStream } from 'pino';
import { currentLogFields } from './log-context.js';

export type { Logger };

export interface LoggerOptions {
  name: string;
  level?: string | undefined;
  /** Where JSON lines go; standard error by default so standard output stays for people and pipes. */
  destination?: DestinationStream | undefined;
}

/**
 * Structured JSON logs; every process names itself so merged logs stay readable. A line written
 * while a request is served carries that request's ids (log-context.ts), whoever writes it.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    { name: options.name, level: options.level ?? 'info', base: { process: options.name, pid: process.pid }, mixin: currentLogFields },
    options.destination ?? pino.destination({ dest: 2, sync: false }),
  );
}

/**
 * Written synchronously: a line is in the file when the call returns, so nothing is lost when the
 * process is killed, and a file read after close holds every line. (pino's flush does not wait for
 * an asynchronous file.) A control plane's lines are few enough that this costs nothing to notice.
 */
export function fileDestination(path: string): DestinationStream {
  return pino.destination({ dest: path, mkdir: true, sync: true });
}
