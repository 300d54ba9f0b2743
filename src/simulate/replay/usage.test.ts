import { describe, expect, it } from 'vitest';
import { decayedWeight, usageHorizonStart } from '../../core/decayed-usage.js';
import { seededRandom } from '../../core/seeded-random.js';
import { DecayedUsage, type UsageRun } from './usage.js';

interface Run extends UsageRun {
  endMs: number | null;
}

/** As src/control/loops/snapshot.ts reads it: runs that ended after the horizon's start, or still running, each weighed on its own. */
function directSum(runs: readonly Run[], queue: string, key: string, nowMs: number, halfLifeMs: number): number {
  let sum = 0;
  for (const r of runs) {
    if (r.queue !== queue || (r.endMs !== null && r.endMs <= usageHorizonStart(nowMs, halfLifeMs))) continue;
    sum += (r.amounts[key] ?? 0) * decayedWeight(r.startMs, r.endMs ?? nowMs, nowMs, halfLifeMs);
  }
  return sum;
}

describe('decayed usage in a replay', () => {
  it('equals the control plane’s sum over every run in the horizon, finished or running', () => {
    const H = 3_600_000;
    const queues = ['a', 'b', 'c'];
    for (const seed of [5, 6, 7]) {
      const rnd = seededRandom(seed);
      const usage = new DecayedUsage(H);
      const runs: Run[] = [];
      let now = 0;
      // ~170 h in steps of up to 10 min: the running sums' origin moves many times, runs leave the horizon.
      for (let step = 0; step < 2000; step++) {
        // Several steps at the same time: runs that start and are read at once weigh 0.
        if (rnd() < 0.7) now += Math.floor(rnd() * 600_000);
        for (const r of runs) {
          if (r.endMs === null && rnd() < 0.2) {
            r.endMs = now;
            usage.finish(r, now);
          }
        }
        // Queue c runs in bursts: now and then it has nothing running (its sums start again from zero).
        const queue = queues[Math.floor(rnd() * (step % 300 < 150 ? 3 : 2))]!;
        const gpus = 1 + Math.floor(rnd() * 8);
        const run: Run = { queue, amounts: { gpu: gpus, 'gpu/A100': gpus, cpu: gpus * 8 }, startMs: now, endMs: null };
        runs.push(run);
        usage.start(run);
        if (step % 7 !== 0) continue;
        const got = usage.usageAt(now);
        for (const q of queues) {
          for (const key of ['gpu', 'gpu/A100', 'cpu']) {
            const want = directSum(runs, q, key, now, H);
            const held = runs.reduce((s, r) => s + (r.queue === q && r.endMs === null ? (r.amounts[key] ?? 0) : 0), 0);
            // Rounding: relative to what is held and was summed, not to the (possibly tiny) result.
            expect(Math.abs((got.get(q)?.[key] ?? 0) - want)).toBeLessThanOrEqual(1e-12 * (1 + held + want));
            expect(got.get(q)?.[key] ?? 0).toBeGreaterThanOrEqual(0);
          }
        }
      }
    }
  });
  it('weighs a run that has just started 0 and one running for a half-life ½', () => {
    const H = 1000;
    const usage = new DecayedUsage(H);
    const run = { queue: 'a', amounts: { gpu: 4 }, startMs: 10_000 };
    usage.start(run);
    expect(usage.usageAt(10_000).get('a')?.['gpu'] ?? 0).toBe(0);
    expect(usage.usageAt(11_000).get('a')?.['gpu']).toBeCloseTo(2, 12);
    usage.finish(run, 12_000);
    expect(usage.usageAt(13_000).get('a')?.['gpu']).toBeCloseTo(4 * 0.75 * 0.5, 12);
  });
  it('counts no past use without a half-life, as the control plane', () => {
    const usage = new DecayedUsage(0);
    usage.start({ queue: 'a', amounts: { gpu: 4 }, startMs: 0 });
    expect(usage.usageAt(5000).get('a')).toBeUndefined();
  });
  it('refuses to go back in time, and an end without a start', () => {
    const usage = new DecayedUsage(1000);
    usage.usageAt(5000);
    expect(() => usage.usageAt(4000)).toThrow(/back/);
    expect(() => usage.start({ queue: 'a', amounts: { gpu: 1 }, startMs: 4000 })).toThrow(/back/);
    expect(() => usage.finish({ queue: 'a', amounts: { gpu: 1 }, startMs: 5000 }, 6000)).toThrow(/none is running/);
  });
});
