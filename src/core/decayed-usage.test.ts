import { describe, expect, it } from 'vitest';
import { decayedWeight } from './decayed-usage.js';

describe('decayed usage', () => {
  it('decays past use with the half-life', () => {
    const H = 3600_000;
    const now = 100 * H;
    // Steady use for a long time weighs about 1; use that ended one half-life ago half of that.
    expect(decayedWeight(0, now, now, H)).toBeCloseTo(1, 6);
    expect(decayedWeight(0, now - H, now, H)).toBeCloseTo(0.5, 6);
    expect(decayedWeight(now - H, now, now, H)).toBeCloseTo(0.5, 6);
    expect(decayedWeight(now, now + H, now, H)).toBe(0);
  });
});
