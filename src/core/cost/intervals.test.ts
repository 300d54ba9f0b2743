import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { assertWindow, clip, splitAt } from './intervals.js';

describe('intervals', () => {
  it('clips to the window, open intervals ending at its end', () => {
    expect(clip({ from: -5, to: 5 }, { since: 0, until: 10 })).toEqual({ from: 0, to: 5 });
    expect(clip({ from: 3, to: null }, { since: 0, until: 10 })).toEqual({ from: 3, to: 10 });
    expect(clip({ from: 10, to: 20 }, { since: 0, until: 10 })).toBeNull();
    expect(clip({ from: 4, to: 4 }, { since: 0, until: 10 })).toBeNull();
  });

  it('splits only at points strictly inside, in order, once each', () => {
    expect(splitAt({ from: 0, to: 10 }, [7, 0, 3, 3, 10, 12])).toEqual([
      { from: 0, to: 3 },
      { from: 3, to: 7 },
      { from: 7, to: 10 },
    ]);
    expect(splitAt({ from: 0, to: 10 }, [])).toEqual([{ from: 0, to: 10 }]);
  });

  it('rejects an empty or backwards window', () => {
    expect(() => assertWindow({ since: 5, until: 5 })).toThrow(ApiError);
    expect(() => assertWindow({ since: 0, until: Number.NaN })).toThrow(/until/);
  });
});
