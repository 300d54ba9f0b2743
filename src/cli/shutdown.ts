import type { Writer } from './context.js';
import { reportError } from './errors.js';

/**
 * Stops a long-running command once: on the first SIGINT or SIGTERM (exit 0), or when the command
 * calls the returned function itself (with its own exit code). A second signal while stopping
 * exits at once, for when a clean stop hangs.
 */
export function shutdownOnSignals(stop: () => Promise<void>, stderr: Writer): (exitCode: number) => void {
  let stopping = false;
  const shutdown = (exitCode: number): void => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(exitCode),
      (err: unknown) => {
        stderr.write(`${reportError(err).lines.join('\n')}\n`);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      stderr.write(`\n${signal} again: exiting without waiting for a clean stop\n`);
      process.exit(1);
    }
    stderr.write(`\n${signal}: stopping…\n`);
    shutdown(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return shutdown;
}
