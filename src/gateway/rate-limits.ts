import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { formatPath } from '../core/zod-issues.js';

const perMinute = z.number().positive().max(1e12);
const limitSchema = z.strictObject({
  requestsPerMinute: perMinute.optional().describe('Requests a team may start per minute (bursts up to this many)'),
  tokensPerMinute: perMinute.optional().describe('Prompt plus output tokens a team may use per minute'),
});

/** `--rate-limits FILE`: limits for every team (`default`), and per team (`teams.<name>`, which replaces the default). */
export const rateLimitsSchema = z.strictObject({
  default: limitSchema.optional(),
  teams: z.record(z.string().min(1), limitSchema).default({}),
});
export type RateLimits = z.infer<typeof rateLimitsSchema>;
export type TeamLimits = z.infer<typeof limitSchema>;

export async function loadRateLimits(file: string): Promise<RateLimits> {
  const result = rateLimitsSchema.safeParse(parse(await readFile(file, 'utf8')) ?? {});
  if (!result.success) throw new Error(`${file}: ${result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ')}`);
  return result.data;
}

/**
 * A bucket that holds up to one minute's allowance and refills continuously. Its level may go
 * below zero: tokens are charged when an answer's usage is known, after it was admitted, and a
 * team in debt waits until the refill has paid it back.
 */
class TokenBucket {
  private level: number;
  private readonly perMs: number;

  constructor(
    private readonly capacity: number,
    private last: number,
  ) {
    this.level = capacity;
    this.perMs = capacity / 60_000;
  }

  private refill(now: number): void {
    this.level = Math.min(this.capacity, this.level + (now - this.last) * this.perMs);
    this.last = now;
  }

  /** Milliseconds until the level reaches `need`; 0 when it already has. */
  waitFor(need: number, now: number): number {
    this.refill(now);
    return this.level >= need ? 0 : (need - this.level) / this.perMs;
  }

  take(amount: number, now: number): void {
    this.refill(now);
    this.level -= amount;
  }
}

export type Admission = { ok: true } | { ok: false; limit: 'requests' | 'tokens'; retryAfterSeconds: number };

/** Token buckets per team: one for requests per minute, one for tokens per minute. */
export class RateLimiter {
  private readonly buckets = new Map<string, { requests: TokenBucket | null; tokens: TokenBucket | null }>();

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Admits one request of the team (taking one request from its bucket), or says how long to wait. */
  admit(team: string): Admission {
    const b = this.bucketsOf(team);
    const now = this.now();
    const tokensWait = b.tokens?.waitFor(0, now) ?? 0;
    if (tokensWait > 0) return { ok: false, limit: 'tokens', retryAfterSeconds: Math.max(1, Math.ceil(tokensWait / 1000)) };
    const requestsWait = b.requests?.waitFor(1, now) ?? 0;
    if (requestsWait > 0) return { ok: false, limit: 'requests', retryAfterSeconds: Math.max(1, Math.ceil(requestsWait / 1000)) };
    b.requests?.take(1, now);
    return { ok: true };
  }

  /** Charges the tokens an admitted request used (prompt plus output). */
  charge(team: string, tokens: number): void {
    if (tokens > 0) this.bucketsOf(team).tokens?.take(tokens, this.now());
  }

  private bucketsOf(team: string) {
    let b = this.buckets.get(team);
    if (!b) {
      const limits: TeamLimits = this.limits.teams[team] ?? this.limits.default ?? {};
      const now = this.now();
      b = {
        requests: limits.requestsPerMinute === undefined ? null : new TokenBucket(limits.requestsPerMinute, now),
        tokens: limits.tokensPerMinute === undefined ? null : new TokenBucket(limits.tokensPerMinute, now),
      };
      this.buckets.set(team, b);
    }
    return b;
  }
}
