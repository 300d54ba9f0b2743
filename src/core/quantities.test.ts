import { describe, expect, it } from 'vitest';
import { formatDurationSeconds, parseDurationSeconds, parseMemoryMiB } from './quantities.js';

describe('quantities', () => {
  it('parses memory into MiB', () => {
    expect(parseMemoryMiB('20Gi')).toBe(20480);
    expect(parseMemoryMiB('512Mi')).toBe(512);
    expect(parseMemoryMiB('1.5Gi')).toBe(1536);
    expect(parseMemoryMiB('1Ti')).toBe(1048576);
    expect(parseMemoryMiB('1G')).toBe(954);
    expect(parseMemoryMiB(300)).toBe(300);
    expect(parseMemoryMiB('300')).toBe(300);
    for (const bad of ['', 'Gi', '20GB', '-1Gi', '1e3Mi', 'lots']) expect(parseMemoryMiB(bad)).toBeNull();
    expect(parseMemoryMiB(-1)).toBeNull();
    expect(parseMemoryMiB(Number.NaN)).toBeNull();
  });

  it('parses durations into seconds', () => {
    expect(parseDurationSeconds('90m')).toBe(5400);
    expect(parseDurationSeconds('2h')).toBe(7200);
    expect(parseDurationSeconds('1h30m')).toBe(5400);
    expect(parseDurationSeconds('1d2h3m4s')).toBe(93784);
    expect(parseDurationSeconds('600')).toBe(600);
    expect(parseDurationSeconds(60)).toBe(60);
    for (const bad of ['', 'h', '1x', '1h 30m', '0m', 'soon', '30m1']) expect(parseDurationSeconds(bad)).toBeNull();
    expect(parseDurationSeconds(0)).toBeNull();
    expect(parseDurationSeconds(-5)).toBeNull();
  });

  it('formats durations back', () => {
    expect(formatDurationSeconds(5400)).toBe('1h30m');
    expect(formatDurationSeconds(45)).toBe('45s');
  });
});
