import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockDataDir } from './data-dir-lock.js';

describe('data directory lock', () => {
  it('keeps a second owner out while the first lives, and frees on release', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpufleet-lock-'));
    writeFileSync(join(dir, 'gpufleet.lock'), String(process.ppid));
    expect(() => lockDataDir(dir)).toThrow(/in use by another gpufleet process/);
  });

  it('takes over a lock whose owner is dead', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpufleet-lock-'));
    writeFileSync(join(dir, 'gpufleet.lock'), '2147483646');
    const release = lockDataDir(dir);
    expect(existsSync(join(dir, 'gpufleet.lock'))).toBe(true);
    release();
    expect(existsSync(join(dir, 'gpufleet.lock'))).toBe(false);
  });
});
