import { createHash, randomBytes } from 'node:crypto';

/**
 * Tokens are 32 random bytes, so a plain SHA-256 is enough to store them safely (no dictionary to
 * guess from) and lets a lookup be one indexed equality.
 */
export function newSecret(prefix: 'gfa' | 'gfj' | 'gfn'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
