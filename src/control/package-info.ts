import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest folder above this module whose package.json is gpufleet's (works from src/ and dist/src/). */
function findPackageRoot(): { root: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gpufleet') return { root: dir, version: pkg.version ?? '0.0.0' };
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the gpufleet package root');
    dir = parent;
  }
}

const found = findPackageRoot();
export const packageRoot = found.root;
export const packageVersion = found.version;
