import { describe, expect, it } from 'vitest';
import { decayedWeight, usageHorizonStart } from '../../core/decayed-usage.js';
import { seededRandom } from '../../core/seeded-random.js';
import { DecayedUsage } from './usage.js';

describe('decayed usage in a replay', () => {
  it('equals the control plane’s sum over every run in the horizon, finished or running', () => {
    const H = 3_600_000;
    const rnd = seededRandom(5);
    const usage = new DecayedUsage(H);
    const runs: Array<{ queue: string; gpus: number; startMs: number; endMs: number | null }> = [];
    let now = 0;
    for (let step = 0; step < 400; step++) {
      now += Math.floor(rnd() * 600_000);
      // End some running runs now, start others.
      for (const r of runs) {
        if (r.endMs === null && rnd() < 0.3) {
          r.endMs = now;
          usage.finish({ queue: r.queue, amounts: { gpu: r.gpus }, startMs: r.startMs }, now);
        }
      }
      runs.push({ queue: rnd() < 0.5 ? 'a' : 'b', gpus: 1 + Math.floor(rnd() * 8), startMs: now, endMs: null });
      if (step % 20 !== 0) continue;
      const running = runs.filter((r) => r.endMs === null).map((r) => ({ queue: r.queue, amounts: { gpu: r.gpus }, startMs: r.startMs }));
      const got = usage.usageAt(now, running);
      // As src/control/loops/snapshot.ts reads it: runs that ended after the horizon's start, or still running.
      for (const q of ['a', 'b']) {
        let want = 0;
        for (const r of runs) {
          if (r.queue !== q || (r.endMs !== null && r.endMs <= usageHorizonStart(now, H))) continue;
          want += r.gpus * decayedWeight(r.startMs, r.endMs ?? now, now, H);
        }
        expect(got.get(q)?.['gpu'] ?? 0).toBeCloseTo(want, 9);
      }
    }
  });
  it('refuses to go back in time', () => {
    const usage = new DecayedUsage(1000);
    usage.usageAt(5000, []);
    expect(() => usage.usageAt(4000, [])).toThrow(/back/);
  });
});
