import { z } from 'zod';
import { gpuModelSchema } from '../gpu-models.js';
import { parseOrThrow } from '../zod-issues.js';
import { hoursOf, splitAt, type Span } from './intervals.js';
import type { NodePool } from './types.js';

const pricePointSchema = z
  .object({
    /** ms since the epoch from which this price applies, until the next point's `from`. */
    from: z.number().int().nonnegative(),
    pricePerGpuHour: z.number().finite().nonnegative({ message: 'must not be negative' }),
  })
  .strict();

/**
 * A price history: each point holds until the next one, so the points must be in strictly
 * increasing time order — a repeated `from` would make two prices apply at once.
 */
const priceScheduleSchema = z
  .array(pricePointSchema)
  .min(1)
  .superRefine((points, ctx) => {
    for (let i = 1; i < points.length; i++) {
      if (points[i]!.from <= points[i - 1]!.from) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'from'],
          message: `effective times must be strictly increasing: ${points[i]!.from} is not after ${points[i - 1]!.from}`,
        });
      }
    }
  });

/**
 * A pool's price: one schedule for every node of the pool, or a schedule per instance type (what a
 * catalog read without a configured instance type becomes), picked by the node's instance-type label.
 */
const poolPricesSchema = z.union(
  [priceScheduleSchema, z.object({ instanceTypes: z.record(z.string().min(1), priceScheduleSchema) }).strict()],
  { error: 'expected a price schedule or { instanceTypes }' },
);

export const priceBookSchema = z
  .object({
    models: z.record(gpuModelSchema, priceScheduleSchema).default({}),
    /** Per node pool (the value of the node's pool label), beating the model's price from its first point on. */
    pools: z.record(z.string().min(1), poolPricesSchema).default({}),
    /** Per node, beating the pool's and the model's price from the node schedule's first point on. */
    nodes: z.record(z.string().min(1), priceScheduleSchema).default({}),
  })
  .strict();

export type PricePoint = z.infer<typeof pricePointSchema>;
export type PriceBook = z.infer<typeof priceBookSchema>;

export interface PricedGpu {
  node: string;
  model: string;
  /** Absent when the node carries no pool label. */
  pool?: NodePool;
}

/** Validates a configured price book, throwing an `invalid_request` error that names each bad field. */
export function parsePriceBook(value: unknown): PriceBook {
  return parseOrThrow(priceBookSchema, value, 'priceBook');
}

/** Own keys only: a node, pool or instance type named `constructor` must not find Object's. */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function poolSchedule(book: PriceBook, pool: NodePool | undefined): readonly PricePoint[] | undefined {
  const prices = pool === undefined ? undefined : own(book.pools, pool.pool);
  if (prices === undefined || Array.isArray(prices)) return prices;
  // A node whose instance type is unlabelled, or not in the pool's catalog, has no pool price.
  return pool?.instanceType === undefined ? undefined : own(prices.instanceTypes, pool.instanceType);
}

/** The schedules that may price a GPU, strongest first: its node's, its pool's, its model's. */
function schedulesFor(book: PriceBook, gpu: PricedGpu): Array<readonly PricePoint[]> {
  return [own(book.nodes, gpu.node), poolSchedule(book, gpu.pool), own(book.models, gpu.model)].filter((s) => s !== undefined);
}

function pointAt(schedule: readonly PricePoint[], t: number): PricePoint | undefined {
  for (let i = schedule.length - 1; i >= 0; i--) if (schedule[i]!.from <= t) return schedule[i];
  return undefined;
}

/**
 * The price per GPU-hour at `t`, or null when the book has none for that GPU yet: the node's price
 * from its schedule's first point on, else the pool's from its first point on, else the model's.
 */
export function priceAt(book: PriceBook, gpu: PricedGpu, t: number): number | null {
  for (const schedule of schedulesFor(book, gpu)) {
    const point = pointAt(schedule, t);
    if (point !== undefined) return point.pricePerGpuHour;
  }
  return null;
}

export interface PricedSpan {
  cost: number;
  unpricedGpuHours: number;
}

/** One GPU over a span, split at every price change inside it; hours without a price are counted apart. */
export function costOver(book: PriceBook, gpu: PricedGpu, span: Span): PricedSpan {
  const changes = schedulesFor(book, gpu).flatMap((schedule) => schedule.map((p) => p.from));
  let cost = 0;
  let unpricedGpuHours = 0;
  for (const piece of splitAt(span, changes)) {
    const price = priceAt(book, gpu, piece.from);
    if (price === null) unpricedGpuHours += hoursOf(piece);
    else cost += hoursOf(piece) * price;
  }
  return { cost, unpricedGpuHours };
}
