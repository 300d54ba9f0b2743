import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { costOver, parsePriceBook, priceAt } from './prices.js';

const H = 3_600_000;

function issuesOf(value: unknown): Array<{ path: string; message: string }> {
  try {
    parsePriceBook(value);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return ((error as ApiError).details?.issues ?? []) as Array<{ path: string; message: string }>;
  }
  throw new Error('expected the price book to be rejected');
}

describe('price book validation', () => {
  it('accepts a model schedule with a node override', () => {
    const book = parsePriceBook({ models: { 'H100-80GB': [{ from: 0, pricePerGpuHour: 2.5 }] }, nodes: { n2: [{ from: 0, pricePerGpuHour: 1.8 }] } });
    expect(book.nodes['n2']).toHaveLength(1);
    expect(parsePriceBook({ models: {} }).nodes).toEqual({});
  });

  it('names a negative price', () => {
    const issues = issuesOf({ models: { 'H100-80GB': [{ from: 0, pricePerGpuHour: -1 }] } });
    expect(issues).toEqual([{ path: 'priceBook.models.H100-80GB[0].pricePerGpuHour', message: 'must not be negative' }]);
  });

  it('names unsorted and overlapping effective times', () => {
    const unsorted = issuesOf({ models: { 'A100-40GB': [{ from: 10, pricePerGpuHour: 1 }, { from: 5, pricePerGpuHour: 2 }] } });
    expect(unsorted.map((i) => i.path)).toEqual(['priceBook.models.A100-40GB[1].from']);
    expect(unsorted[0]!.message).toMatch(/strictly increasing/);
    const repeated = issuesOf({ models: {}, nodes: { n1: [{ from: 7, pricePerGpuHour: 1 }, { from: 7, pricePerGpuHour: 2 }] } });
    expect(repeated.map((i) => i.path)).toEqual(['priceBook.nodes.n1[1].from']);
  });

  it('rejects unknown fields and empty schedules', () => {
    expect(issuesOf({ models: { 'H100-80GB': [] } }).map((i) => i.path)).toEqual(['priceBook.models.H100-80GB']);
    expect(issuesOf({ models: {}, zones: {} }).map((i) => i.path)).toEqual(['priceBook.zones']);
  });
});

describe('priceAt', () => {
  const book = parsePriceBook({
    models: { 'H100-80GB': [{ from: 0, pricePerGpuHour: 2 }, { from: 10 * H, pricePerGpuHour: 3 }] },
    nodes: { n2: [{ from: 5 * H, pricePerGpuHour: 1.8 }] },
  });

  it('follows the model schedule, each price holding until the next', () => {
    expect(priceAt(book, { node: 'n1', model: 'H100-80GB' }, 0)).toBe(2);
    expect(priceAt(book, { node: 'n1', model: 'H100-80GB' }, 10 * H - 1)).toBe(2);
    expect(priceAt(book, { node: 'n1', model: 'H100-80GB' }, 10 * H)).toBe(3);
  });

  it('lets a node override beat the model price from its first point on', () => {
    expect(priceAt(book, { node: 'n2', model: 'H100-80GB' }, 5 * H - 1)).toBe(2);
    expect(priceAt(book, { node: 'n2', model: 'H100-80GB' }, 5 * H)).toBe(1.8);
    expect(priceAt(book, { node: 'n2', model: 'H100-80GB' }, 11 * H)).toBe(1.8);
  });

  it('has no price for an unknown model', () => {
    expect(priceAt(book, { node: 'n1', model: 'L4-24GB' }, 0)).toBeNull();
  });

  it('splits a span at price changes', () => {
    // 9 h → 11 h on n1: 1 h × $2 + 1 h × $3 = $5
    expect(costOver(book, { node: 'n1', model: 'H100-80GB' }, { from: 9 * H, to: 11 * H }).cost).toBeCloseTo(5, 9);
    // 4 h → 6 h on n2: 1 h × $2 (model) + 1 h × $1.80 (override) = $3.80
    expect(costOver(book, { node: 'n2', model: 'H100-80GB' }, { from: 4 * H, to: 6 * H }).cost).toBeCloseTo(3.8, 9);
    expect(costOver(book, { node: 'n1', model: 'L4-24GB' }, { from: 0, to: H / 2 })).toEqual({ cost: 0, unpricedGpuHours: 0.5 });
  });
});

describe('pool prices', () => {
  // The model costs $2, then $3 from 10 h; pool `cloud` $1.50 from 2 h; node n2 $1.80 from 5 h;
  // pool `priced-by-type` by the node's instance type, from 0.
  const book = parsePriceBook({
    models: { 'H100-80GB': [{ from: 0, pricePerGpuHour: 2 }, { from: 10 * H, pricePerGpuHour: 3 }] },
    pools: { cloud: [{ from: 2 * H, pricePerGpuHour: 1.5 }], 'priced-by-type': { instanceTypes: { 'p5.48xlarge': [{ from: 0, pricePerGpuHour: 12.29 }] } } },
    nodes: { n2: [{ from: 5 * H, pricePerGpuHour: 1.8 }] },
  });
  const inCloud = (node: string) => ({ node, model: 'H100-80GB', pool: { pool: 'cloud' } });

  it('beats the model price from its first point on, and yields to the node price from its', () => {
    expect(priceAt(book, inCloud('n1'), 2 * H - 1)).toBe(2);
    expect(priceAt(book, inCloud('n1'), 2 * H)).toBe(1.5);
    expect(priceAt(book, inCloud('n1'), 11 * H)).toBe(1.5);
    expect(priceAt(book, inCloud('n2'), 5 * H - 1)).toBe(1.5);
    expect(priceAt(book, inCloud('n2'), 5 * H)).toBe(1.8);
  });

  it('prices by the node instance type where the pool lists types; an unlisted or unlabelled type has no pool price', () => {
    const typed = (instanceType?: string) => ({ node: 'n1', model: 'H100-80GB', pool: { pool: 'priced-by-type', instanceType } });
    expect(priceAt(book, typed('p5.48xlarge'), 0)).toBe(12.29);
    expect(priceAt(book, typed('p4d.24xlarge'), 0)).toBe(2);
    expect(priceAt(book, typed(), 0)).toBe(2);
    expect(priceAt(book, { ...typed('p5.48xlarge'), model: 'L4-24GB' }, 0)).toBe(12.29);
    expect(priceAt(book, { ...typed('p4d.24xlarge'), model: 'L4-24GB' }, 0)).toBeNull();
  });

  it('finds only names the book lists, not inherited ones', () => {
    expect(priceAt(book, { node: 'constructor', model: 'toString', pool: { pool: 'constructor' } }, 0)).toBeNull();
    expect(priceAt(book, { node: 'n1', model: 'L4-24GB', pool: { pool: 'priced-by-type', instanceType: 'constructor' } }, 0)).toBeNull();
  });

  it('splits a span at the model price change under a pool price, which holds', () => {
    // n1 in cloud over 9 h → 11 h: the pool's $1.50 throughout, though the model price changes at 10 h = $3
    expect(costOver(book, inCloud('n1'), { from: 9 * H, to: 11 * H }).cost).toBeCloseTo(3, 9);
    // n1 in cloud over 1 h → 3 h: 1 h of the model's $2, then 1 h of the pool's $1.50 = $3.50
    expect(costOver(book, inCloud('n1'), { from: H, to: 3 * H }).cost).toBeCloseTo(3.5, 9);
    // n2 in cloud over 4 h → 6 h: 1 h of the pool's $1.50, 1 h of the node's $1.80 = $3.30
    expect(costOver(book, inCloud('n2'), { from: 4 * H, to: 6 * H }).cost).toBeCloseTo(3.3, 9);
  });

  it('names a bad pool entry', () => {
    expect(issuesOf({ pools: { cloud: [{ from: 0, pricePerGpuHour: -1 }] } })).toEqual([{ path: 'priceBook.pools.cloud[0].pricePerGpuHour', message: 'must not be negative' }]);
    expect(issuesOf({ pools: { cloud: { instanceTypes: { p5: [] } } } }).map((i) => i.path)).toEqual(['priceBook.pools.cloud.instanceTypes.p5']);
    expect(issuesOf({ pools: { cloud: 5 } })).toEqual([{ path: 'priceBook.pools.cloud', message: 'expected a price schedule or { instanceTypes }' }]);
  });
});
