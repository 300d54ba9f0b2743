import { describe, expect, it } from 'vitest';
import { gresRequest, parseGpuGres } from './gres.js';

describe('parseGpuGres', () => {
  it.each([
    ['gpu:h100:8(S:0)', [{ model: 'h100', count: 8, indices: [] }]],
    ['gpu:8', [{ model: null, count: 8, indices: [] }]],
    ['gpu', [{ model: null, count: 1, indices: [] }]],
    ['gpu:h100:2(IDX:0-1)', [{ model: 'h100', count: 2, indices: [0, 1] }]],
    ['gpu:a100:3(IDX:0,2-3),shard:8', [{ model: 'a100', count: 3, indices: [0, 2, 3] }]],
    ['gpu:h100:4(S:0-1),gpu:a100:2(S:1)', [{ model: 'h100', count: 4, indices: [] }, { model: 'a100', count: 2, indices: [] }]],
    ['gres:gpu:h100:2', [{ model: 'h100', count: 2, indices: [] }]],
    ['gpu:h100:0(IDX:N/A)', [{ model: 'h100', count: 0, indices: [] }]],
    ['shard:4,mps:100', []],
    ['', []],
    ['(null)', []],
    [null, []],
  ])('%s', (text, expected) => {
    expect(parseGpuGres(text)).toEqual(expected);
  });
});

describe('gresRequest', () => {
  it('names the type only when a model is asked for', () => {
    expect(gresRequest(2, 'h100')).toBe('gpu:h100:2');
    expect(gresRequest(2, null)).toBe('gpu:2');
  });
});
