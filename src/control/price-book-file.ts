import { parsePriceBook, type PriceBook } from '../core/cost/index.js';
import { loadConfigFile } from './config-file.js';

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
export function loadPriceBook(file: string | undefined): Promise<PriceBook> {
  if (file === undefined) return Promise.resolve(emptyPriceBook);
  return loadConfigFile(file, 'price book', (doc) => parsePriceBook(datesToMs(doc)));
}
