import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { CliError } from './errors.js';

export const defaultUrl = 'http://127.0.0.1:7070';

const fileSchema = z.object({
  url: z.url('must be a URL such as http://127.0.0.1:7070').optional(),
  token: z.string().min(1).optional(),
});
export type ConfigFile = z.infer<typeof fileSchema>;

export interface ResolvedConfig {
  url: string;
  token: string | undefined;
  /** Path of the config file, whether or not it exists. */
  path: string;
  /** Whether the file exists; env variables may still supply url and token without it. */
  fileExists: boolean;
}

/** GPUFLEET_HOME holds the CLI config, the embedded database and the agent's state. */
export function gpufleetHome(env: NodeJS.ProcessEnv): string {
  return env.GPUFLEET_HOME || join(homedir(), '.gpufleet');
}

export function configPath(env: NodeJS.ProcessEnv): string {
  return join(gpufleetHome(env), 'config.yaml');
}

export async function readConfigFile(path: string): Promise<ConfigFile | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw new CliError(`${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = fileSchema.safeParse(doc);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CliError(`${path}: ${problems}`);
  }
  return result.data;
}

/** Environment variables override the file, which overrides the default. */
export async function loadConfig(env: NodeJS.ProcessEnv): Promise<ResolvedConfig> {
  const path = configPath(env);
  const file = await readConfigFile(path);
  return {
    url: env.GPUFLEET_URL || file?.url || defaultUrl,
    token: env.GPUFLEET_TOKEN || file?.token,
    path,
    fileExists: file !== null,
  };
}

/** Writes atomically and readable only by the owner: the file holds a bearer token. */
export async function writeConfig(env: NodeJS.ProcessEnv, config: { url: string; token: string }): Promise<string> {
  const path = configPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, stringify({ url: config.url, token: config.token }), { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
  return path;
}
