import { describe, expect, it } from 'vitest';
import { restartDelayMs } from './service-restarts.js';

describe('restart backoff', () => {
  it('doubles from 1 s with each consecutive end, up to a minute', () => {
    expect([1, 2, 3, 4, 6, 7, 8, 100].map(restartDelayMs)).toEqual([1000, 2000, 4000, 8000, 32_000, 60_000, 60_000, 60_000]);
  });
});
