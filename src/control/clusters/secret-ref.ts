import { readFile } from 'node:fs/promises';
import type { SecretRef } from '../../core/cluster-types.js';

/** A secret could not be read; the message names where it was looked for, never its value. */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
}

/**
 * Reads a secret where its reference points, at each use, so a rotated token (a rewritten file)
 * is picked up without touching gpufleet. Surrounding whitespace and a `SLURM_JWT=` prefix, as
 * `scontrol token` prints it, are dropped.
 */
export async function readSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  let text: string;
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value.trim() === '') throw new SecretUnavailableError(`the server's environment variable ${ref.env} is not set`);
    text = value;
  } else {
    try {
      text = await readFile(ref.file, 'utf8');
    } catch (err) {
      throw new SecretUnavailableError(`cannot read the secret file ${ref.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const secret = text.trim().replace(/^SLURM_JWT=/, '');
  if (secret === '') throw new SecretUnavailableError(`the secret in ${'env' in ref ? `environment variable ${ref.env}` : ref.file} is empty`);
  return secret;
}
