import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { catalogGpuPrices, parsePriceBook, type PriceBook, type PricePoint } from '../core/cost/index.js';
import { ApiError, type FieldIssue } from '../core/errors.js';
import { fieldIssues, summarizeIssues } from '../core/zod-issues.js';
import { loadConfigFile } from './config-file.js';

/** No price book: every GPU-hour is reported as unpriced, none is guessed. */
export const emptyPriceBook: PriceBook = { models: {}, pools: {}, nodes: {} };

/** A pool priced from a SkyPilot catalog (docs/cost.md). */
const catalogPoolSchema = z
  .object({
    /** Relative to the price book file. */
    catalog: z.string().min(1),
    /** Absent: each node's instance-type label picks its row. */
    instanceType: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    spot: z.boolean().default(false),
    from: z.number().int().nonnegative().default(0),
  })
  .strict();

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const mapValues = (record: unknown, f: (value: unknown) => unknown): unknown =>
  isObject(record) ? Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value)])) : record;

/** In a file, `from` may be written as a time (`2026-01-01`, `2026-01-01T00:00:00Z`) as well as ms since the epoch. */
function fromToMs(value: unknown): unknown {
  if (!isObject(value) || typeof value.from !== 'string' || Number.isNaN(Date.parse(value.from))) return value;
  return { ...value, from: Date.parse(value.from) };
}

const scheduleToMs = (points: unknown): unknown => (Array.isArray(points) ? points.map(fromToMs) : points);

/** A pool is a schedule, a schedule per instance type, or a catalog with a `from` of its own. */
const poolToMs = (pool: unknown): unknown =>
  Array.isArray(pool) ? scheduleToMs(pool) : isObject(pool) && 'instanceTypes' in pool ? { ...pool, instanceTypes: mapValues(pool.instanceTypes, scheduleToMs) } : fromToMs(pool);

function datesToMs(doc: unknown): unknown {
  if (!isObject(doc)) return doc;
  const converted: Record<string, unknown> = { ...doc };
  if ('models' in doc) converted.models = mapValues(doc.models, scheduleToMs);
  if ('nodes' in doc) converted.nodes = mapValues(doc.nodes, scheduleToMs);
  if ('pools' in doc) converted.pools = mapValues(doc.pools, poolToMs);
  return converted;
}

function invalid(issues: FieldIssue[]): never {
  throw new ApiError('invalid_request', `invalid priceBook: ${summarizeIssues(issues)}`, { issues });
}

/**
 * Replaces each pool that names a catalog with the prices read from it: one schedule when the pool
 * names its instance type, else a schedule per instance type for each node's label to pick.
 */
async function readPoolCatalogs(doc: unknown, dir: string): Promise<unknown> {
  if (!isObject(doc) || !isObject(doc.pools)) return doc;
  const pools: Record<string, unknown> = { ...doc.pools };
  for (const [name, pool] of Object.entries(doc.pools)) {
    if (!isObject(pool) || !('catalog' in pool)) continue;
    const field = `priceBook.pools.${name}`;
    const parsed = catalogPoolSchema.safeParse(pool);
    if (!parsed.success) invalid(fieldIssues(parsed.error, field));
    const { catalog, from, ...selection } = parsed.data;
    let text: string;
    try {
      text = await readFile(resolve(dir, catalog), 'utf8');
    } catch (err) {
      invalid([{ path: `${field}.catalog`, message: `cannot read ${catalog}: ${(err as Error).message}` }]);
    }
    const read = catalogGpuPrices(text, selection);
    if ('issues' in read) invalid(read.issues.map((i) => ({ path: `${field}.${i.path}`, message: i.message })));
    const schedule = (pricePerGpuHour: number): PricePoint[] => [{ from, pricePerGpuHour }];
    pools[name] =
      selection.instanceType === undefined
        ? { instanceTypes: Object.fromEntries([...read.prices].map(([type, price]) => [type, schedule(price)])) }
        : schedule(read.prices.get(selection.instanceType)!);
  }
  return { ...doc, pools };
}

/**
 * Reads `--price-book FILE` (YAML or JSON, docs/cost.md) and the catalogs its pools name; a bad
 * file or catalog stops the server with the field (and the catalog's line) named.
 */
export function loadPriceBook(file: string | undefined): Promise<PriceBook> {
  if (file === undefined) return Promise.resolve(emptyPriceBook);
  return loadConfigFile(file, 'price book', async (doc) => parsePriceBook(await readPoolCatalogs(datesToMs(doc), dirname(file))));
}
