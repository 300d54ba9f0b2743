/**
 * Quantities people write in specs: memory as `20Gi`/`512Mi` (or a plain number of MiB) and
 * durations as `90m`/`2h`/`1h30m` (or a plain number of seconds). The parsers return null instead
 * of throwing, so schemas can turn a bad value into a field issue and never into a 5xx.
 */

const memoryUnits: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024, K: 1000 / 1048576, M: 1e6 / 1048576, G: 1e9 / 1048576, T: 1e12 / 1048576 };

/** MiB, rounded up (a request never shrinks), from `20Gi`, `512Mi`, `1.5Ti`, or a number of MiB. */
export function parseMemoryMiB(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.ceil(value) : null;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T)?\s*$/.exec(value);
  if (!match) return null;
  const mib = Number(match[1]) * (match[2] === undefined ? 1 : memoryUnits[match[2]]!);
  return Number.isFinite(mib) ? Math.ceil(mib) : null;
}

const durationUnits: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };

/** Seconds from `1h30m`, `90m`, `45s`, `2d`, or a number of seconds; null when not a duration. */
export function parseDurationSeconds(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.ceil(value) : null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+$/.test(text)) return Number(text) > 0 ? Number(text) : null;
  const part = /(\d+(?:\.\d+)?)(d|h|m|s)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = part.exec(text); m !== null; m = part.exec(text)) {
    total += Number(m[1]) * durationUnits[m[2]!]!;
    consumed = part.lastIndex;
  }
  if (consumed !== text.length || total <= 0 || !Number.isFinite(total)) return null;
  return Math.ceil(total);
}

/** `5400` → `1h30m`: how a duration is shown back. */
export function formatDurationSeconds(seconds: number): string {
  if (seconds <= 0) return '0s';
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of Object.entries(durationUnits)) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
