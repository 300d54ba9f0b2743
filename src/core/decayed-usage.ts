/**
 * Time-decayed past use, as fair share reads it (docs/scheduler.md): use at time t weighs
 * 2^(−(now−t)/H) at `now`, H the half-life. The control plane's snapshot and the simulator's
 * replay both weigh use with these, so a replay's fair shares are the server's.
 */

/** Past use counts for 5 half-lives; older use weighs under 3 % and is left out. */
export const usageHorizonHalfLives = 5;

/** The earliest end of use that still counts at `nowMs`: use that ended before is left out. */
export function usageHorizonStart(nowMs: number, halfLifeMs: number): number {
  return nowMs - usageHorizonHalfLives * halfLifeMs;
}

/** What use weighs `elapsedMs` later, relative to its weight then. */
export function decayFactor(elapsedMs: number, halfLifeMs: number): number {
  return 2 ** (-elapsedMs / halfLifeMs);
}

/**
 * The weight of use during [startMs, endMs] as seen at `nowMs`: ∫ 2^(−(now−t)/H) dt over the
 * interval divided by H/ln 2, which integrates in closed form. Steady use since long ago weighs 1.
 */
export function decayedWeight(startMs: number, endMs: number, nowMs: number, halfLifeMs: number): number {
  const end = Math.min(endMs, nowMs);
  if (end <= startMs || halfLifeMs <= 0) return 0;
  return decayFactor(nowMs - end, halfLifeMs) - decayFactor(nowMs - startMs, halfLifeMs);
}
