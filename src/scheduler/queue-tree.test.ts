import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dropsBelow, QueueTree, waterFill } from './queue-tree.js';
import type { QueueQuota, SnapshotQueue } from './types.js';

const quota = (guaranteed: number, extra: Partial<QueueQuota> = {}): QueueQuota => ({
  resource: 'gpu',
  guaranteed,
  limit: null,
  overQuotaWeight: 1,
  lendingLimit: null,
  ...extra,
});

const queue = (name: string, parentId: string | null, quotas: QueueQuota[], extra: Partial<SnapshotQueue> = {}): SnapshotQueue => ({
  id: name,
  name,
  parentId,
  priority: 0,
  quotas,
  decayedUsage: {},
  ...extra,
});

function shares(queues: SnapshotQueue[], demand: Record<string, number>, capacity: number, usageWeight = 1): Record<string, number> {
  const tree = new QueueTree(queues);
  for (const [name, gpus] of Object.entries(demand)) tree.addDemand(tree.queues.get(name)!, { gpu: gpus });
  tree.computeFairShares({ gpu: capacity }, usageWeight);
  return Object.fromEntries([...tree.queues.values()].map((q) => [q.name, Math.round((q.deserved.gpu ?? 0) * 1000) / 1000]));
}

describe('waterFill', () => {
  it('gives everyone their room when there is enough', () => {
    expect(waterFill(10, [{ weight: 1, head: 0, room: 3 }, { weight: 1, head: 0, room: 4 }])).toEqual([3, 4]);
  });

  it('splits by weight, and past use starts a claimant further up', () => {
    const [a, b] = waterFill(12, [{ weight: 2, head: 0, room: 100 }, { weight: 1, head: 0, room: 100 }]);
    expect(a).toBeCloseTo(8);
    expect(b).toBeCloseTo(4);
    const [c, d] = waterFill(12, [{ weight: 1, head: 6, room: 100 }, { weight: 1, head: 0, room: 100 }]);
    expect(c).toBeCloseTo(3);
    expect(d).toBeCloseTo(9);
  });

  it('gives a claimant of weight 0 only what the others leave, and never NaN', () => {
    const [a, b] = waterFill(4, [{ weight: 0, head: 0, room: 3 }, { weight: 1, head: 0, room: 2 }]);
    expect(a).toBeCloseTo(2);
    expect(b).toBeCloseTo(2);
    const [c, d] = waterFill(4, [{ weight: 0, head: 0, room: 3 }, { weight: 1, head: 0, room: 5 }]);
    expect(c).toBe(0);
    expect(d).toBeCloseTo(4);
    expect(waterFill(1, [{ weight: 0, head: 0, room: 2 }, { weight: 0, head: 0, room: 2 }])).toEqual([0.5, 0.5]);
  });

  it('gives everyone their room when the rooms add up to the amount but for rounding', () => {
    // 0.2 + 2.2 is 2.4000000000000004: a share counted in another order must not be split by weight.
    expect(waterFill(2.4, [{ weight: 1, head: 0, room: 0.2 }, { weight: 0, head: 0, room: 2.2 }])).toEqual([0.2, 2.2]);
  });
});

describe('fair share', () => {
  it('gives guarantees first, then the surplus by weight, capped by demand', () => {
    const result = shares(
      [queue('a', null, [quota(4, { overQuotaWeight: 3 })]), queue('b', null, [quota(4)]), queue('c', null, [quota(0)])],
      { a: 100, b: 100, c: 2 },
      20,
    );
    // 8 guaranteed; c takes its 2; the 10 left go 3:1 to a and b.
    expect(result).toEqual({ a: 4 + 7.5, b: 4 + 2.5, c: 2 });
  });

  it('lends surplus to higher-priority siblings first', () => {
    const result = shares([queue('hi', null, [quota(0)], { priority: 10 }), queue('lo', null, [quota(0)])], { hi: 6, lo: 10 }, 10);
    expect(result).toEqual({ hi: 6, lo: 4 });
  });

  it('divides a parent’s share among its children', () => {
    const result = shares(
      [queue('org', null, [quota(8)]), queue('x', 'org', [quota(6)]), queue('y', 'org', [quota(0)]), queue('other', null, [quota(0)])],
      { x: 10, y: 10, other: 10 },
      16,
    );
    expect(result.org).toBe(12);
    expect(result.other).toBe(4);
    expect(result.x).toBe(9);
    expect(result.y).toBe(3);
  });

  it('keeps idle guaranteed quota out of the surplus under a lending limit', () => {
    const result = shares([queue('keeper', null, [quota(8, { lendingLimit: 2 })]), queue('borrower', null, [quota(0)])], { borrower: 16 }, 16);
    expect(result).toEqual({ keeper: 6, borrower: 10 });
  });

  it('takes decayed past use beyond the guarantee off a queue’s surplus', () => {
    const busy = queue('busy', null, [quota(0)], { decayedUsage: { gpu: 8 } });
    const idle = queue('idle', null, [quota(0)]);
    expect(shares([busy, idle], { busy: 16, idle: 16 }, 16)).toEqual({ busy: 4, idle: 12 });
    expect(shares([busy, idle], { busy: 16, idle: 16 }, 16, 0)).toEqual({ busy: 8, idle: 8 });
  });

  it('shrinks guarantees that add up to more than there is', () => {
    expect(shares([queue('a', null, [quota(12)]), queue('b', null, [quota(4)])], { a: 12, b: 4 }, 8)).toEqual({ a: 6, b: 2 });
  });

  it('names the queue or ancestor whose limit would be passed', () => {
    const tree = new QueueTree([queue('org', null, [quota(0, { limit: 4 })]), queue('team', 'org', [quota(0)])]);
    expect(tree.limitBlock(tree.queues.get('team')!, { gpu: 2 })).toBeNull();
    expect(tree.limitBlock(tree.queues.get('team')!, { gpu: 6 })).toMatch(/queue team's parent org would exceed its limit of 4 GPUs/);
  });
});

describe('guarantee floors', () => {
  it('judge a workload as dropsBelowGuarantee does (property)', () => {
    const keys = ['gpu', 'gpu/A', 'cpu'] as const;
    const amount = fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 12 }), fc.double({ min: 0, max: 12, noNaN: true }));
    fc.assert(
      fc.property(
        fc.tuple(...keys.map(() => fc.integer({ min: 0, max: 8 }))),
        fc.tuple(...keys.map(() => fc.double({ min: 0, max: 16, noNaN: true }))),
        fc.tuple(...keys.map(() => fc.double({ min: 0, max: 4, noNaN: true }))),
        fc.tuple(...keys.map(() => amount)),
        (guaranteed, usage, held, asked) => {
          const tree = new QueueTree([queue('q', null, keys.map((resource, i) => quota(guaranteed[i]!, { resource })))]);
          const q = tree.queues.get('q')!;
          keys.forEach((key, i) => {
            q.usage[key] = usage[i]!;
            q.held[key] = held[i]!;
          });
          const amounts = Object.fromEntries(keys.flatMap((key, i) => (asked[i] === undefined ? [] : [[key, asked[i]]])));
          expect(dropsBelow(q.guaranteeFloors(tree.keys), amounts)).toBe(q.dropsBelowGuarantee(amounts));
        },
      ),
    );
  });
});
