import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSecret, SecretUnavailableError } from './secret-ref.js';

describe('readSecret', () => {
  it('reads an environment variable or a file, dropping whitespace and the SLURM_JWT= prefix', async () => {
    expect(await readSecret({ env: 'TOKEN' }, { TOKEN: ' abc.def.ghi\n' })).toBe('abc.def.ghi');
    const file = join(mkdtempSync(join(tmpdir(), 'gpufleet-secret-')), 'jwt');
    writeFileSync(file, 'SLURM_JWT=xyz\n');
    expect(await readSecret({ file })).toBe('xyz');
  });

  it('says where it looked, never what it found', async () => {
    await expect(readSecret({ env: 'MISSING' }, {})).rejects.toThrow(new SecretUnavailableError("the server's environment variable MISSING is not set"));
    await expect(readSecret({ file: '/nonexistent/jwt' })).rejects.toThrow('cannot read the secret file /nonexistent/jwt (ENOENT)');
    await expect(readSecret({ env: 'BLANK' }, { BLANK: '  ' })).rejects.toThrow('BLANK is not set');
  });
});
