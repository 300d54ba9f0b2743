import { ApiError } from '../errors.js';
import type { Window } from './types.js';

export interface Span {
  from: number;
  to: number;
}

export const MS_PER_HOUR = 3_600_000;

export function hoursOf(span: Span): number {
  return (span.to - span.from) / MS_PER_HOUR;
}

export function assertWindow(window: Window): void {
  const issues = [];
  if (!Number.isFinite(window.since)) issues.push({ path: 'since', message: 'must be a finite time in ms' });
  if (!Number.isFinite(window.until)) issues.push({ path: 'until', message: 'must be a finite time in ms' });
  else if (!(window.since < window.until)) issues.push({ path: 'until', message: 'must be after since' });
  if (issues.length > 0) throw new ApiError('invalid_request', `invalid window: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}

/** The part of [from, to) inside the window; `to: null` (still open) ends at the window's end. */
export function clip(interval: { from: number; to: number | null }, window: Window): Span | null {
  const from = Math.max(interval.from, window.since);
  const to = Math.min(interval.to ?? window.until, window.until);
  return from < to ? { from, to } : null;
}

export function covers(interval: { from: number; to: number | null }, t: number): boolean {
  return interval.from <= t && (interval.to === null || t < interval.to);
}

/** Cuts a span at every point strictly inside it; the pieces tile the span in time order. */
export function splitAt(span: Span, points: Iterable<number>): Span[] {
  const inside = [...new Set(points)].filter((p) => p > span.from && p < span.to).sort((a, b) => a - b);
  const pieces: Span[] = [];
  let from = span.from;
  for (const p of inside) {
    pieces.push({ from, to: p });
    from = p;
  }
  pieces.push({ from, to: span.to });
  return pieces;
}
