import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { completeUtf8Length, maxChunkBytes, readLog } from './log-files.js';

describe('UTF-8 boundaries', () => {
  const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

  it('keeps whole characters only', () => {
    expect(completeUtf8Length(bytes('abc'))).toBe(3);
    expect(completeUtf8Length(bytes('ab✓'))).toBe(5);
    expect(completeUtf8Length(bytes('ab✓').subarray(0, 4))).toBe(2);
    expect(completeUtf8Length(bytes('ab✓').subarray(0, 3))).toBe(2);
    expect(completeUtf8Length(bytes('a🚀').subarray(0, 4))).toBe(1);
    expect(completeUtf8Length(bytes('a🚀'))).toBe(5);
    expect(completeUtf8Length(bytes('é').subarray(0, 1))).toBe(0);
    expect(completeUtf8Length(new Uint8Array([0x61, 0x80, 0x80, 0x80, 0x80]))).toBe(5);
    expect(completeUtf8Length(new Uint8Array([]))).toBe(0);
  });

  it('waits for the rest of a character until the stream is over, and says done on the read that reaches its end', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gpufleet-utf8-'));
    const path = join(dir, 'out.log');
    await writeFile(path, Buffer.concat([Buffer.from('ok '), Buffer.from('🚀').subarray(0, 2)]));
    expect(await readLog(path, 0, false)).toEqual({ data: 'ok ', nextOffset: 3, done: false });
    expect(await readLog(path, 3, false)).toEqual({ data: '', nextOffset: 3, done: false });
    expect(await readLog(path, 3, true)).toEqual({ data: '\uFFFD', nextOffset: 5, done: true });
    expect(await readLog(path, 5, true)).toEqual({ data: '', nextOffset: 5, done: true });
    expect(await readLog(join(dir, 'missing.log'), 0, true)).toEqual({ data: '', nextOffset: 0, done: true });

    const big = Buffer.concat([Buffer.alloc(maxChunkBytes - 1, 0x61), Buffer.from('é')]);
    await writeFile(path, big);
    expect(await readLog(path, 0, true)).toMatchObject({ nextOffset: maxChunkBytes - 1, done: false });
    expect(await readLog(path, maxChunkBytes - 1, true)).toEqual({ data: 'é', nextOffset: maxChunkBytes + 1, done: true });
    await rm(dir, { recursive: true, force: true });
  });
});
