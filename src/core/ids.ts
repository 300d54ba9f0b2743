import { randomBytes } from 'node:crypto';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Short, URL-safe, unguessable ids such as `j-4k2x9q7m1c`; the prefix says what kind of object it is. */
export function newId(prefix: string, length = 10): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return `${prefix}-${out}`;
}

export const idPrefixes = {
  team: 't',
  queue: 'q',
  node: 'n',
  workload: 'j',
  replica: 'r',
  token: 'k',
  service: 's',
  cluster: 'c',
} as const;
