import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RateLimiter, loadRateLimits } from './rate-limits.js';

describe('RateLimiter', () => {
  it('lets a team burst a minute of requests, then one more per 1/rate, and says how long to wait', () => {
    let now = 0;
    const limiter = new RateLimiter({ teams: { a: { requestsPerMinute: 3 } } }, () => now);
    expect([1, 2, 3].map(() => limiter.admit('a').ok)).toEqual([true, true, true]);
    expect(limiter.admit('a')).toEqual({ ok: false, limit: 'requests', retryAfterSeconds: 20 });
    now = 19_000;
    expect(limiter.admit('a')).toEqual({ ok: false, limit: 'requests', retryAfterSeconds: 1 });
    now = 20_000;
    expect(limiter.admit('a').ok).toBe(true);
    expect(limiter.admit('other').ok).toBe(true);
  });

  it('charges tokens after the answer and holds a team in debt back until the refill pays it', () => {
    let now = 0;
    const limiter = new RateLimiter({ default: { tokensPerMinute: 600 }, teams: {} }, () => now);
    expect(limiter.admit('a').ok).toBe(true);
    limiter.charge('a', 900); // 300 in debt; 10 tokens a second
    expect(limiter.admit('a')).toEqual({ ok: false, limit: 'tokens', retryAfterSeconds: 30 });
    now = 30_000;
    expect(limiter.admit('a').ok).toBe(true);
    expect(limiter.admit('b').ok).toBe(true);
  });

  it('reads limits from YAML and names a bad field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpufleet-limits-'));
    writeFileSync(join(dir, 'ok.yaml'), 'default: {requestsPerMinute: 60}\nteams:\n  research: {tokensPerMinute: 1000}\n');
    expect(await loadRateLimits(join(dir, 'ok.yaml'))).toEqual({ default: { requestsPerMinute: 60 }, teams: { research: { tokensPerMinute: 1000 } } });
    writeFileSync(join(dir, 'bad.yaml'), 'teams:\n  research: {requestsPerMinute: -1}\n');
    await expect(loadRateLimits(join(dir, 'bad.yaml'))).rejects.toThrow(/teams\.research\.requestsPerMinute/);
  });
});
