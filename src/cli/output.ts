import { Option } from 'commander';
import { stringify } from 'yaml';
import type { CliContext } from './context.js';

export const outputFormats = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof outputFormats)[number];

/** The `-o` flag every list and get command shares. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(outputFormats).default('table');
}

export function formatStructured(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

const columnGap = '   ';

/** kubectl-style: an upper-case header, columns padded to their widest cell, no borders, no trailing spaces. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, col) => Math.max(...all.map((row) => (row[col] ?? '').length)));
  return all
    .map((row) =>
      headers
        .map((_, col) => (col === headers.length - 1 ? (row[col] ?? '') : (row[col] ?? '').padEnd(widths[col]!)))
        .join(columnGap)
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

export interface Column<T> {
  header: string;
  value: (item: T) => string;
}

/** Writes `items` as a table, or as JSON/YAML; an empty table is a note on stderr so stdout stays parseable. */
export function writeList<T>(ctx: CliContext, format: OutputFormat, items: readonly T[], columns: readonly Column<T>[], noun: string): void {
  if (format !== 'table') {
    ctx.stdout.write(formatStructured(items, format));
    return;
  }
  if (items.length === 0) {
    ctx.stderr.write(`No ${noun} found.\n`);
    return;
  }
  ctx.stdout.write(renderTable(columns.map((c) => c.header), items.map((item) => columns.map((c) => c.value(item)))));
}

/** Writes one object as a one-row table, or as JSON/YAML. */
export function writeOne<T>(ctx: CliContext, format: OutputFormat, item: T, columns: readonly Column<T>[]): void {
  if (format !== 'table') ctx.stdout.write(formatStructured(item, format));
  else ctx.stdout.write(renderTable(columns.map((c) => c.header), [columns.map((c) => c.value(item))]));
}

/** Coarse ages such as `5s`, `3m`, `2h`, `4d`; `-` when there is no time. */
export function formatAge(since: string | null | undefined, now: number): string {
  if (!since) return '-';
  const then = Date.parse(since);
  if (Number.isNaN(then)) return '-';
  const seconds = Math.max(0, Math.floor((now - then) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** Run times: `0.4s`, `1.2s`, `42s`, `3m05s`, `2h10m`. */
export function formatDuration(ms: number): string {
  const clamped = Math.max(0, ms);
  if (clamped < 10_000) return `${(clamped / 1000).toFixed(1)}s`;
  const seconds = Math.round(clamped / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}
