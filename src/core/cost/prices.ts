import { z } from 'zod';
import { gpuModelSchema } from '../gpu-models.js';
import { parseOrThrow } from '../zod-issues.js';
import { hoursOf, splitAt, type Span } from './intervals.js';

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

export const priceBookSchema = z
  .object({
    models: z.record(gpuModelSchema, priceScheduleSchema),
    /** Per node, beating the model's price from the node schedule's first point on. */
    nodes: z.record(z.string().min(1), priceScheduleSchema).default({}),
  })
  .strict();

export type PricePoint = z.infer<typeof pricePointSchema>;
export type PriceBook = z.infer<typeof priceBookSchema>;

export interface PricedGpu {
  node: string;
  model: string;
}

/** Validates a configured price book, throwing an `invalid_request` error that names each bad field. */
export function parsePriceBook(value: unknown): PriceBook {
  return parseOrThrow(priceBookSchema, value, 'priceBook');
}

function pointAt(schedule: readonly PricePoint[] | undefined, t: number): PricePoint | undefined {
  if (schedule === undefined) return undefined;
  for (let i = schedule.length - 1; i >= 0; i--) if (schedule[i]!.from <= t) return schedule[i];
  return undefined;
}

/** The price per GPU-hour at `t`, or null when the book has none for that GPU yet. */
export function priceAt(book: PriceBook, gpu: PricedGpu, t: number): number | null {
  const point = pointAt(book.nodes[gpu.node], t) ?? pointAt(book.models[gpu.model], t);
  return point === undefined ? null : point.pricePerGpuHour;
}

export interface PricedSpan {
  cost: number;
  unpricedGpuHours: number;
}

/** One GPU over a span, split at every price change inside it; hours without a price are counted apart. */
export function costOver(book: PriceBook, gpu: PricedGpu, span: Span): PricedSpan {
  const changes = [...(book.nodes[gpu.node] ?? []), ...(book.models[gpu.model] ?? [])].map((p) => p.from);
  let cost = 0;
  let unpricedGpuHours = 0;
  for (const piece of splitAt(span, changes)) {
    const price = priceAt(book, gpu, piece.from);
    if (price === null) unpricedGpuHours += hoursOf(piece);
    else cost += hoursOf(piece) * price;
  }
  return { cost, unpricedGpuHours };
}
