import { CommanderError } from 'commander';
import { createContext } from './context.js';
import { reportError } from './errors.js';
import { buildProgram } from './program.js';

/**
 * Runs the CLI on `argv` (as in process.argv). Expected failures end as one `error:` line and exit
 * code 1, usage errors as exit code 2; a stack trace means a bug.
 */
export async function main(argv: string[]): Promise<void> {
  // `gpufleet logs x | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const ctx = createContext(process.env, process.stdout, process.stderr);
  try {
    await buildProgram(ctx).parseAsync(argv);
    process.exitCode = ctx.exitCode;
  } catch (err) {
    // Commander has printed its usage errors and help already.
    const exitCode = err instanceof CommanderError ? (err.exitCode === 0 ? 0 : 2) : printReport(err);
    // A server or agent that failed half-way through starting may hold handles that would keep the process alive.
    process.exit(exitCode);
  }
}

function printReport(err: unknown): number {
  const report = reportError(err);
  process.stderr.write(`${report.lines.join('\n')}\n`);
  return report.exitCode;
}
