import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Writes fixture files (gzipped when the name ends in .gz) into a fresh temp dir; returns the dir. */
export function writeFixtures(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-traces-'));
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), name.endsWith('.gz') ? gzipSync(text) : text);
  }
  return dir;
}
