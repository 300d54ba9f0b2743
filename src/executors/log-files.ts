import { open, stat } from 'node:fs/promises';
import type { LogRead } from './spi.js';

/** The most one read returns; a longer output is read in several. */
export const maxChunkBytes = 256 * 1024;

/**
 * An executor's `logs()` over a file its replica writes: up to maxChunkBytes from `offset`, cut
 * before an incomplete UTF-8 character so that no character is split across reads. Once the replica
 * has `ended` the file is complete: an incomplete character at its end is returned as it is (it
 * will never be completed), and the read that reaches the end says `done`.
 */
export async function readLog(path: string, offset: number, ended: boolean): Promise<LogRead> {
  // A stat first: most polls find nothing new, and then nothing is opened or allocated.
  const size = await fileSize(path);
  if (size <= offset) return { data: '', nextOffset: offset, done: ended };
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return { data: '', nextOffset: offset, done: ended };
    throw err;
  }
  try {
    const buffer = Buffer.alloc(Math.min(maxChunkBytes, size - offset));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    const last = offset + bytesRead >= size;
    const cut = ended && last ? bytesRead : completeUtf8Length(buffer.subarray(0, bytesRead));
    return { data: buffer.toString('utf8', 0, cut), nextOffset: offset + cut, done: ended && offset + cut >= size };
  } finally {
    await handle.close();
  }
}

/** The length of the longest prefix that does not end inside a UTF-8 character. */
export function completeUtf8Length(bytes: Uint8Array): number {
  const n = bytes.length;
  // Step back over continuation bytes (10xxxxxx) to the lead byte of the last character, at most 3.
  let i = n - 1;
  while (i >= 0 && i > n - 4 && (bytes[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return n;
  const lead = bytes[i]!;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if ((lead & 0xc0) === 0x80) return n; // not UTF-8 to begin with: nothing to keep whole
  return i + length > n ? i : n;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}
