import { ClientError } from '../client/http.js';

/** A failure the CLI expects and explains in its message; main prints it without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** Further lines printed under the message, e.g. one per invalid field. */
    readonly detailLines: readonly string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad flags or arguments: exit code 2, as for commander's own usage errors. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

export interface ErrorReport {
  lines: string[];
  exitCode: number;
}

/** Turns any thrown value into the lines main writes to stderr; only unexpected errors keep their stack. */
export function reportError(err: unknown): ErrorReport {
  if (err instanceof CliError) return { lines: [`error: ${err.message}`, ...err.detailLines], exitCode: err.exitCode };
  if (err instanceof ClientError) return { lines: clientErrorLines(err), exitCode: 1 };
  const system = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (system instanceof Error && system.code === 'EADDRINUSE') {
    const where = system.port === undefined ? 'the address' : `port ${system.port}`;
    return { lines: [`error: ${where} is already in use — is gpufleet already running there?`], exitCode: 1 };
  }
  if (system instanceof Error && typeof system.code === 'string') return { lines: [`error: ${system.message}`], exitCode: 1 };
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return { lines: [`error: unexpected failure (please report it): ${text}`], exitCode: 1 };
}

function clientErrorLines(err: ClientError): string[] {
  switch (err.code) {
    case 'unreachable':
      return [`error: ${err.message} — is it running? Start it with: npm run up`];
    case 'unauthenticated':
      return ['error: the server rejected the token (unauthenticated) — run: gpufleet login'];
    case 'forbidden':
      return [`error: ${err.message} (forbidden: this token's role may not do that)`];
    default: {
      const issues = err.details?.issues ?? [];
      if (issues.length === 0) return [`error: ${err.message}`];
      return [`error: the server rejected the request (${err.code}):`, ...issues.map((i) => `  ${i.path}: ${i.message}`)];
    }
  }
}
