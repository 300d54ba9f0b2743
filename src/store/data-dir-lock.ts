import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * PGlite is PostgreSQL in one process: two processes on one data directory would corrupt it. A
 * lock file holding the owner's pid keeps the second one out; a lock whose owner is dead is stale.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'gpufleet.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner))
        throw new Error(`the data directory ${dataDir} is in use by another gpufleet process (pid ${owner})`);
      rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot lock the data directory ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
