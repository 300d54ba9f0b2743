/**
 * Time limits a replay assumes for jobs whose trace gives none (Philly's), so that backfill and
 * reservations have start times: each job's runtime × a factor, rounded up. An assumption, reported
 * with the results.
 */
export interface DeclaredLimits {
  factor: number;
  roundUpSeconds: number;
}

/** `FACTOR[:ROUND_S]` (e.g. `1:3600`: each job's runtime rounded up to an hour), or `none`. */
export function parseDeclaredLimits(spec: string): DeclaredLimits | null {
  if (spec === 'none') return null;
  const [factor, roundUpSeconds = '1', ...rest] = spec.split(':');
  const limits = { factor: Number(factor), roundUpSeconds: Number(roundUpSeconds) };
  if (rest.length > 0 || !(limits.factor >= 1) || !(limits.roundUpSeconds > 0)) throw new Error(`expected FACTOR[:ROUND_S] with FACTOR ≥ 1 and ROUND_S > 0, or none; got ${spec}`);
  return limits;
}

/** The limit a job of `duration` seconds declares under `d`: never below its duration when factor ≥ 1. */
export function declaredLimit(duration: number, d: DeclaredLimits): number {
  if (!(d.factor > 0) || !(d.roundUpSeconds > 0)) throw new Error(`declared limits need a factor and a rounding above 0, got ${d.factor} and ${d.roundUpSeconds}`);
  return Math.max(1, Math.ceil((duration * d.factor) / d.roundUpSeconds)) * d.roundUpSeconds;
}
