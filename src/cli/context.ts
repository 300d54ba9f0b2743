import { GpufleetClient } from '../client/api-client.js';
import { loadConfig } from './config.js';
import { CliError } from './errors.js';

export interface Writer {
  write(text: string): unknown;
}

/** What commands touch of the outside world, so tests can run them against fakes. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  stdout: Writer;
  stderr: Writer;
  now(): number;
  /** A client for the configured server and token. */
  client(): Promise<GpufleetClient>;
  /** The exit code when the command returns normally; `run --wait` sets the job's. */
  exitCode: number;
}

export function createContext(env: NodeJS.ProcessEnv, stdout: Writer, stderr: Writer): CliContext {
  return {
    env,
    stdout,
    stderr,
    now: () => Date.now(),
    exitCode: 0,
    async client() {
      const config = await loadConfig(env);
      if (!config.token)
        throw new CliError(
          `not logged in: no token in ${config.path} or GPUFLEET_TOKEN — run: gpufleet login --url ${config.url} --token TOKEN ` +
            '(gpufleet up and gpufleet server print the admin token on their first start)',
        );
      return new GpufleetClient({ baseUrl: config.url, token: config.token });
    },
  };
}
