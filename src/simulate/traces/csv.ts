import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { parseCsvLine } from '../../core/csv.js';
import { TraceError } from './types.js';

export interface CsvLine {
  line: number;
  text: string;
}

/** Lines of a .csv or .csv.gz file with their 1-based numbers; blank lines carry no row and are dropped. */
export async function* readLines(path: string): AsyncGenerator<CsvLine> {
  const file = createReadStream(path);
  const input = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  // pipe() does not forward the source's errors, and a missing file must not hang the reader.
  file.on('error', (err) => input.destroy(err));
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    if (text.trim() !== '') yield { line, text };
  }
}

export interface TableColumns {
  required: readonly string[];
  optional: readonly string[];
  /** Reject a header with columns outside these lists (catches misspelt optional columns). */
  strict: boolean;
}

export type TableRow = { line: number; values: Record<string, string> } | { line: number; error: string };

/**
 * Rows of a headed CSV file as column → raw value. A header that cannot serve (empty file,
 * missing or unknown columns) makes the whole file unusable, so it throws whatever the bad-row policy.
 */
export async function* readTable(path: string, columns: TableColumns): AsyncGenerator<TableRow> {
  let header: string[] | null = null;
  for await (const { line, text } of readLines(path)) {
    const fields = parseCsvLine(text);
    if (header === null) {
      if (typeof fields === 'string') throw new TraceError([{ file: path, line, message: `header: ${fields}` }]);
      header = fields.map((name) => name.trim());
      checkHeader(path, line, header, columns);
      continue;
    }
    if (typeof fields === 'string') {
      yield { line, error: fields };
    } else if (fields.length !== header.length) {
      yield { line, error: `expected ${header.length} fields, got ${fields.length}` };
    } else {
      const values: Record<string, string> = {};
      header.forEach((name, k) => (values[name] = fields[k] ?? ''));
      yield { line, values };
    }
  }
  if (header === null) throw new TraceError([{ file: path, line: 1, message: 'empty file, expected a header line' }]);
}

function checkHeader(path: string, line: number, header: string[], columns: TableColumns): void {
  const problems: string[] = [];
  const missing = columns.required.filter((name) => !header.includes(name));
  if (missing.length > 0) problems.push(`missing column(s) ${missing.join(', ')}`);
  if (columns.strict) {
    const known = new Set([...columns.required, ...columns.optional]);
    const unknown = header.filter((name) => !known.has(name));
    if (unknown.length > 0) problems.push(`unknown column(s) ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  }
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) problems.push(`column ${name} appears twice`);
    seen.add(name);
  }
  if (problems.length > 0) throw new TraceError([{ file: path, line, message: `header: ${problems.join('; ')}` }]);
}
