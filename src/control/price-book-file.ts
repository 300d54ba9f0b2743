import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { parsePriceBook, type PriceBook } from '../core/cost/index.js';
import { ApiError } from '../core/errors.js';

export class PriceBookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PriceBookError';
  }
}

/** No price book: every GPU-hour is reported as unpriced, none is guessed. */
export const emptyPriceBook: PriceBook = { models: {}, nodes: {} };

/** In a file, `from` may be written as a time (`2026-01-01`, `2026-01-01T00:00:00Z`) as well as ms since the epoch. */
function datesToMs(doc: unknown): unknown {
  if (typeof doc !== 'object' || doc === null) return doc;
  const book = doc as Record<string, unknown>;
  const convert = (schedules: unknown) =>
    typeof schedules === 'object' && schedules !== null
      ? Object.fromEntries(
          Object.entries(schedules).map(([key, points]) => [
            key,
            Array.isArray(points)
              ? points.map((p: unknown) => {
                  if (typeof p !== 'object' || p === null) return p;
                  const from = (p as { from?: unknown }).from;
                  return typeof from === 'string' && !Number.isNaN(Date.parse(from)) ? { ...p, from: Date.parse(from) } : p;
                })
              : points,
          ]),
        )
      : schedules;
  return { ...book, ...('models' in book ? { models: convert(book.models) } : {}), ...('nodes' in book ? { nodes: convert(book.nodes) } : {}) };
}

/** Reads `--price-book FILE` (YAML or JSON, docs/cost.md); a bad file stops the server with the field named. */
export async function loadPriceBook(file: string | undefined): Promise<PriceBook> {
  if (file === undefined) return emptyPriceBook;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new PriceBookError(`cannot read the price book ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new PriceBookError(`${file} is not YAML: ${(err as Error).message}`);
  }
  try {
    return parsePriceBook(datesToMs(doc ?? {}));
  } catch (err) {
    if (err instanceof ApiError) throw new PriceBookError(`${file}: ${err.message}`);
    throw err;
  }
}
