import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLines, readTable } from './csv.js';
import { writeFixtures } from '../../../test/support/trace-files.js';
import { TraceError } from './types.js';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('readLines', () => {
  it('reads gzipped and CRLF files with 1-based line numbers, dropping blank lines', async () => {
    const dir = writeFixtures({ 'a.csv.gz': 'h\r\none\r\n\r\ntwo\r\n', 'b.csv': 'h\nx\n' });
    expect(await collect(readLines(join(dir, 'a.csv.gz')))).toEqual([
      { line: 1, text: 'h' },
      { line: 2, text: 'one' },
      { line: 4, text: 'two' },
    ]);
    expect(await collect(readLines(join(dir, 'b.csv')))).toHaveLength(2);
  });

  it('fails on a missing file', async () => {
    await expect(collect(readLines('/nonexistent/trace.csv.gz'))).rejects.toThrow(/ENOENT/);
  });
});

describe('readTable', () => {
  const columns = { required: ['a', 'b'], optional: ['c'], strict: true };

  it('maps fields to columns and reports rows of the wrong width', async () => {
    const dir = writeFixtures({ 't.csv': 'a,b\n1,2\n3\n' });
    expect(await collect(readTable(join(dir, 't.csv'), columns))).toEqual([
      { line: 2, values: { a: '1', b: '2' } },
      { line: 3, error: 'expected 2 fields, got 1' },
    ]);
  });

  it('throws on a header with missing or unknown columns, naming file:1', async () => {
    const dir = writeFixtures({ 't.csv': 'a,cc\n1,2\n', 'e.csv': '' });
    const bad = collect(readTable(join(dir, 't.csv'), columns));
    await expect(bad).rejects.toThrow(TraceError);
    await expect(collect(readTable(join(dir, 't.csv'), columns))).rejects.toThrow(/t\.csv:1: header: missing column\(s\) b; unknown column\(s\) cc/);
    await expect(collect(readTable(join(dir, 'e.csv'), columns))).rejects.toThrow(/e\.csv:1: empty file/);
  });
});
