import { z } from 'zod';

const histogramSchema = z.strictObject({
  le: z.array(z.number().positive()).max(64).describe('Upper bounds of the buckets, ascending (the last, +Inf, left out)'),
  counts: z.array(z.number().nonnegative()).max(65).describe('Cumulative count per bucket, then the +Inf bucket'),
});
export type CumulativeHistogram = z.infer<typeof histogramSchema>;

/**
 * What a gateway reports to the server every second: per model and version its cumulative
 * counters (what rollouts compare), and per model the requests it holds waiting for a replica
 * (what wakes a service scaled to zero). Counters are cumulative since the gateway started; the
 * server works with differences.
 */
export const versionCountersSchema = z.strictObject({
  requests: z.number().nonnegative().describe('Answered by a replica of this version (the gateway’s own refusals excluded)'),
  errors: z.number().nonnegative().describe('5xx from the replica, or a stream broken after it began'),
  ttft: histogramSchema.describe('Time to first token, seconds'),
  itl: histogramSchema.optional().describe('Gaps between streamed tokens, seconds (absent from gateways that do not report it)'),
});
export type VersionCounters = z.infer<typeof versionCountersSchema>;

export const gatewayReportSchema = z.strictObject({
  gateway: z.string().min(1).max(128).describe('Stable for the life of one gateway process'),
  models: z
    .array(
      z.strictObject({
        model: z.string().min(1).max(256),
        waiting: z.number().int().nonnegative().describe('Requests held for a replica (cold start)'),
        versions: z.array(z.strictObject({ version: z.string().min(1).max(64), counters: versionCountersSchema })).max(64),
      }),
    )
    .max(10_000),
});
export type GatewayReport = z.infer<typeof gatewayReportSchema>;

export function emptyCounters(le: readonly number[] = []): VersionCounters {
  return { requests: 0, errors: 0, ttft: emptyHistogram(le), itl: emptyHistogram() };
}

function emptyHistogram(le: readonly number[] = []): CumulativeHistogram {
  return { le: [...le], counts: new Array<number>(le.length + 1).fill(0) };
}

/** a + b (several gateways); histograms with different buckets keep a's. */
export function addCounters(a: VersionCounters, b: VersionCounters): VersionCounters {
  return { requests: a.requests + b.requests, errors: a.errors + b.errors, ttft: addHistograms(a.ttft, b.ttft), itl: addHistograms(a.itl ?? emptyHistogram(), b.itl ?? emptyHistogram()) };
}

function addHistograms(a: CumulativeHistogram, b: CumulativeHistogram): CumulativeHistogram {
  if (a.le.length === 0 && a.counts.every((c) => c === 0)) return { le: [...b.le], counts: [...b.counts] };
  return sameBuckets(a, b) ? { le: a.le, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)) } : a;
}

/** now − then; undefined when a counter went backwards (a gateway restarted): start a new window. */
export function subtractCounters(now: VersionCounters, then: VersionCounters): VersionCounters | undefined {
  if (now.requests < then.requests || now.errors < then.errors) return undefined;
  const ttft = subtractHistograms(now.ttft, then.ttft);
  const itl = subtractHistograms(now.itl ?? emptyHistogram(), then.itl ?? emptyHistogram());
  if (ttft === undefined || itl === undefined) return undefined;
  return { requests: now.requests - then.requests, errors: now.errors - then.errors, ttft, itl };
}

function subtractHistograms(now: CumulativeHistogram, then: CumulativeHistogram): CumulativeHistogram | undefined {
  const counts = sameBuckets(now, then) ? now.counts.map((c, i) => c - (then.counts[i] ?? 0)) : now.counts;
  return counts.some((c) => c < 0) ? undefined : { le: now.le, counts };
}

function sameBuckets(a: CumulativeHistogram, b: CumulativeHistogram): boolean {
  return a.le.length === b.le.length && a.le.every((v, i) => v === b.le[i]);
}

/** The q-quantile of a cumulative histogram, interpolated linearly within its bucket (Prometheus's way); undefined when empty. */
export function histogramQuantile(q: number, le: readonly number[], cumulative: readonly number[]): number | undefined {
  const total = cumulative.at(-1) ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < cumulative.length; i++) {
    if (cumulative[i]! < rank) continue;
    if (i >= le.length) return le.at(-1);
    const lower = i === 0 ? 0 : le[i - 1]!;
    const below = i === 0 ? 0 : cumulative[i - 1]!;
    const inBucket = cumulative[i]! - below;
    return inBucket <= 0 ? le[i] : lower + (le[i]! - lower) * ((rank - below) / inBucket);
  }
  return le.at(-1);
}
