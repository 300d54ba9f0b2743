import { describe, expect, it } from 'vitest';
import { costReport } from './cost.js';
import { parsePriceBook } from './prices.js';
import type { AllocationInterval, InventoryInterval, UsageSample } from './types.js';

const H = 3_600_000;
const M = 60_000;
const MODEL = 'H100-80GB';
const flat = (price: number) => parsePriceBook({ models: { [MODEL]: [{ from: 0, pricePerGpuHour: price }] } });

const gpu = (gpuIndex: number, from = 0, to: number | null = null, node = 'n1'): InventoryInterval => ({ node, gpuIndex, model: MODEL, from, to });
const alloc = (workloadId: string, gpuIndex: number, from: number, to: number | null, extra: Partial<AllocationInterval> = {}): AllocationInterval => ({
  workloadId,
  team: 'vision',
  queue: 'training',
  node: 'n1',
  model: MODEL,
  gpuIndex,
  from,
  to,
  ...extra,
});
const sample = (gpuIndex: number, t: number, engineActivity: number, used: boolean, node = 'n1'): UsageSample => ({ node, gpuIndex, t, engineActivity, used });

describe('cost report: allocation vs usage, idle and unallocated use', () => {
  // 4 GPUs listed over [0, 2 h) at $2.50/GPU-h.
  // w1 holds GPUs 0 and 1 for [0, 1.5 h): GPU 0 busy (used, 0.8), GPU 1 allocated but unused (0.0).
  // GPU 2 is used by a process with no allocation for [0, 1 h) at 0.5. GPU 3 never does anything.
  const history = {
    inventory: [gpu(0), gpu(1), gpu(2), gpu(3)],
    allocations: [alloc('w1', 0, 0, 1.5 * H), alloc('w1', 1, 0, 1.5 * H)],
    samples: [
      sample(0, 0, 0.8, true),
      sample(0, 1.5 * H, 0, false),
      sample(1, 0, 0, false),
      sample(2, 0, 0.5, true),
      sample(2, 1 * H, 0, false),
      sample(3, 0, 0, false),
    ],
  };
  const report = costReport(history, flat(2.5), { since: 0, until: 2 * H });

  it('bills the allocation whether or not it is used', () => {
    const [w1] = report.byWorkload;
    // allocated: 2 GPUs × 1.5 h = 3 GPU-h; used: GPU 0 only, 1.5 GPU-h
    expect(w1!.allocatedGpuHours).toBeCloseTo(3, 9);
    expect(w1!.usedGpuHours).toBeCloseTo(1.5, 9);
    // billable = max(allocated, used) per GPU per instant = 3 GPU-h; 3 × $2.50 = $7.50
    expect(w1!.billableGpuHours).toBeCloseTo(3, 9);
    expect(w1!.cost).toBeCloseTo(7.5, 9);
    // efficiency: (1.5 h × 0.8 + 1.5 h × 0) ÷ 3 GPU-h = 0.4
    expect(w1!.efficiency).toBeCloseTo(0.4, 9);
  });

  it('charges use without an allocation to the unallocated-use row', () => {
    // GPU 2, 1 h × $2.50
    expect(report.unallocatedUse.gpuHours).toBeCloseTo(1, 9);
    expect(report.unallocatedUse.cost).toBeCloseTo(2.5, 9);
  });

  it('charges listed, unallocated, unused GPUs to the idle row', () => {
    // GPU 0 and 1: 0.5 h each after w1 ends; GPU 2: 1 h after its process stops; GPU 3: 2 h → 4 GPU-h × $2.50 = $10
    expect(report.idle.gpuHours).toBeCloseTo(4, 9);
    expect(report.idle.cost).toBeCloseTo(10, 9);
  });

  it('accounts for every listed GPU-hour exactly once', () => {
    // 4 GPUs × 2 h = 8 GPU-h = $20 = $7.50 (vision) + $2.50 (unallocated use) + $10 (idle)
    expect(report.totals.gpuHours).toBeCloseTo(8, 9);
    expect(report.totals.cost).toBeCloseTo(20, 9);
    expect(report.byTeam.map((t) => [t.team, t.cost])).toEqual([['vision', expect.closeTo(7.5, 9)]]);
    expect(report.byQueue.map((q) => [q.queue, q.billableGpuHours])).toEqual([['training', expect.closeTo(3, 9)]]);
  });

  it('bills a team for its allocations and sends its extra use to unallocated use', () => {
    // w2 holds GPU 0 for 1 h but a process also runs on GPU 1, which it does not hold.
    const r = costReport(
      { inventory: [gpu(0), gpu(1)], allocations: [alloc('w2', 0, 0, H)], samples: [sample(0, 0, 0.9, true), sample(1, 0, 0.9, true)] },
      flat(2),
      { since: 0, until: H },
    );
    // vision: 1 GPU × 1 h × $2 = $2; unallocated use: 1 GPU × 1 h × $2 = $2
    expect(r.byTeam[0]!.cost).toBeCloseTo(2, 9);
    expect(r.unallocatedUse.cost).toBeCloseTo(2, 9);
    expect(r.idle.gpuHours).toBe(0);
  });
});

describe('cost report: time and price', () => {
  it('charges partial hours exactly', () => {
    // 1 GPU × 17 min at $3.00 = 17/60 × 3 = $0.85
    const r = costReport({ inventory: [gpu(0)], allocations: [alloc('w', 0, 0, 17 * M)], samples: [] }, flat(3), { since: 0, until: H });
    expect(r.byWorkload[0]!.allocatedGpuHours).toBeCloseTo(17 / 60, 9);
    expect(r.byWorkload[0]!.cost).toBeCloseTo(0.85, 9);
    // the other 43 min are idle: 43/60 × 3 = $2.15
    expect(r.idle.cost).toBeCloseTo(2.15, 9);
  });

  it('splits an allocation at a price change', () => {
    // 1 GPU for [0, 2 h): $2.00 until 1 h 30 min, then $3.00 → 1.5 × 2 + 0.5 × 3 = $4.50
    const book = parsePriceBook({ models: { [MODEL]: [{ from: 0, pricePerGpuHour: 2 }, { from: 90 * M, pricePerGpuHour: 3 }] } });
    const r = costReport({ inventory: [gpu(0)], allocations: [alloc('w', 0, 0, 2 * H)], samples: [] }, book, { since: 0, until: 2 * H });
    expect(r.byWorkload[0]!.cost).toBeCloseTo(4.5, 9);
  });

  it('lets a per-node override beat the model price', () => {
    // n1 at the model's $2.50, n2 at its override $1.80: 1 h each → $2.50 + $1.80 = $4.30
    const book = parsePriceBook({ models: { [MODEL]: [{ from: 0, pricePerGpuHour: 2.5 }] }, nodes: { n2: [{ from: 0, pricePerGpuHour: 1.8 }] } });
    const r = costReport(
      {
        inventory: [gpu(0), gpu(0, 0, null, 'n2')],
        allocations: [alloc('on-n1', 0, 0, H), alloc('on-n2', 0, 0, H, { node: 'n2' })],
        samples: [],
      },
      book,
      { since: 0, until: H },
    );
    expect(r.byWorkload.map((w) => [w.workloadId, w.cost])).toEqual([
      ['on-n1', expect.closeTo(2.5, 9)],
      ['on-n2', expect.closeTo(1.8, 9)],
    ]);
    expect(r.byTeam[0]!.cost).toBeCloseTo(4.3, 9);
  });

  it('prices a pooled node by its pool, between the node override and the model price', () => {
    // Model $2.50, then $3.00 from 1 h; pool `cloud` $1.20 from 30 min; node n3 (also in `cloud`) $0.90 from 1 h 30 min.
    // n1 (no pool), n2 and n3 (pool cloud) each allocated over [0, 2 h):
    //   n1: 1 h × 2.50 + 1 h × 3.00 = $5.50
    //   n2: 0.5 h × 2.50 + 1.5 h × 1.20 (the model's change at 1 h does not reach it) = $3.05
    //   n3: 0.5 h × 2.50 + 1 h × 1.20 + 0.5 h × 0.90 = $2.90
    const book = parsePriceBook({
      models: { [MODEL]: [{ from: 0, pricePerGpuHour: 2.5 }, { from: H, pricePerGpuHour: 3 }] },
      pools: { cloud: [{ from: 30 * M, pricePerGpuHour: 1.2 }] },
      nodes: { n3: [{ from: 90 * M, pricePerGpuHour: 0.9 }] },
    });
    const nodes = ['n1', 'n2', 'n3'];
    const r = costReport(
      {
        inventory: nodes.map((node) => gpu(0, 0, null, node)),
        allocations: nodes.map((node) => alloc(`on-${node}`, 0, 0, 2 * H, { node })),
        samples: [],
        nodePools: new Map([
          ['n2', { pool: 'cloud' }],
          ['n3', { pool: 'cloud' }],
        ]),
      },
      book,
      { since: 0, until: 2 * H },
    );
    expect(r.byWorkload.map((w) => [w.workloadId, w.cost])).toEqual([
      ['on-n1', expect.closeTo(5.5, 9)],
      ['on-n2', expect.closeTo(3.05, 9)],
      ['on-n3', expect.closeTo(2.9, 9)],
    ]);
    expect(r.totals.cost).toBeCloseTo(11.45, 9);
  });

  it('leaves a pooled GPU-hour unpriced when neither its pool nor its model has a price', () => {
    // Pool `cloud` prices only p5 from 1 h; the node is a p5 with a GPU model the book does not list.
    // Listed over [0, 2 h), idle: 1 h unpriced, then 1 h × $12.29.
    const book = parsePriceBook({ pools: { cloud: { instanceTypes: { 'p5.48xlarge': [{ from: H, pricePerGpuHour: 12.29 }] } } } });
    const r = costReport(
      { inventory: [gpu(0)], allocations: [], samples: [], nodePools: new Map([['n1', { pool: 'cloud', instanceType: 'p5.48xlarge' }]]) },
      book,
      { since: 0, until: 2 * H },
    );
    expect(r.idle).toEqual({ gpuHours: 2, cost: expect.closeTo(12.29, 9), unpricedGpuHours: 1 });
  });

  it('clips a still-running allocation at the end of the window', () => {
    // from 0, still running, window [0, 45 min): 0.75 h × $2 = $1.50
    const history = { inventory: [gpu(0)], allocations: [alloc('w', 0, 0, null)], samples: [] };
    expect(costReport(history, flat(2), { since: 0, until: 45 * M }).byWorkload[0]!.cost).toBeCloseTo(1.5, 9);
    // the next window [45 min, 2 h) holds the rest: 1.25 h × $2 = $2.50
    expect(costReport(history, flat(2), { since: 45 * M, until: 2 * H }).byWorkload[0]!.cost).toBeCloseTo(2.5, 9);
  });

  it('counts only the part of an allocation inside the window', () => {
    // allocation [-1 h, 3 h), window [0, 2 h) → 2 GPU-h × $2 = $4
    const r = costReport({ inventory: [gpu(0, -H)], allocations: [alloc('w', 0, -H, 3 * H)], samples: [] }, flat(2), { since: 0, until: 2 * H });
    expect(r.byWorkload[0]!.allocatedGpuHours).toBeCloseTo(2, 9);
    expect(r.byWorkload[0]!.cost).toBeCloseTo(4, 9);
    // an allocation wholly outside the window does not appear
    const outside = costReport({ inventory: [gpu(0)], allocations: [alloc('w', 0, 3 * H, 4 * H)], samples: [] }, flat(2), { since: 0, until: 2 * H });
    expect(outside.byWorkload).toEqual([]);
  });

  it('counts GPU-hours without a price apart instead of guessing', () => {
    const r = costReport({ inventory: [{ ...gpu(0), model: 'L4-24GB' }], allocations: [alloc('w', 0, 0, H, { model: 'L4-24GB' })], samples: [] }, flat(2), { since: 0, until: H });
    expect(r.byWorkload[0]!.cost).toBe(0);
    expect(r.byWorkload[0]!.unpricedGpuHours).toBeCloseTo(1, 9);
  });
});

describe('cost report: efficiency', () => {
  it('is the time-weighted engine activity over the allocated GPU-time', () => {
    // 2 GPUs for 1 h. GPU 0 at 0.9 throughout; GPU 1 at 0.1 for 30 min, then 0.5.
    // activity = 0.9 × 1 + 0.1 × 0.5 + 0.5 × 0.5 = 1.2 GPU-h; allocated = 2 GPU-h → efficiency 0.6
    const r = costReport(
      {
        inventory: [gpu(0), gpu(1)],
        allocations: [alloc('w', 0, 0, H), alloc('w', 1, 0, H)],
        samples: [sample(0, 0, 0.9, true), sample(1, 0, 0.1, true), sample(1, 30 * M, 0.5, true)],
      },
      flat(2),
      { since: 0, until: H },
    );
    expect(r.byWorkload[0]!.activityGpuHours).toBeCloseTo(1.2, 9);
    expect(r.byWorkload[0]!.efficiency).toBeCloseTo(0.6, 9);
    expect(r.byTeam[0]!.efficiency).toBeCloseTo(0.6, 9);
  });

  it('leaves unmeasured time out of efficiency, and takes a sample from before the window', () => {
    // 1 GPU for 1 h, first sample at 30 min (activity 1.0): measured 0.5 GPU-h, efficiency 1.0
    const late = costReport({ inventory: [gpu(0)], allocations: [alloc('w', 0, 0, H)], samples: [sample(0, 30 * M, 1, true)] }, flat(2), { since: 0, until: H });
    expect(late.byWorkload[0]!.measuredGpuHours).toBeCloseTo(0.5, 9);
    expect(late.byWorkload[0]!.efficiency).toBeCloseTo(1, 9);
    // a sample at -10 min still holds at the window's start
    const early = costReport({ inventory: [gpu(0)], allocations: [alloc('w', 0, 0, H)], samples: [sample(0, -10 * M, 0.25, true)] }, flat(2), { since: 0, until: H });
    expect(early.byWorkload[0]!.efficiency).toBeCloseTo(0.25, 9);
    const none = costReport({ inventory: [gpu(0)], allocations: [alloc('w', 0, 0, H)], samples: [] }, flat(2), { since: 0, until: H });
    expect(none.byWorkload[0]!.efficiency).toBeNull();
  });
});

describe('cost report: GPU shares', () => {
  const share = (workloadId: string, fraction: number, from: number, to: number | null, team = 'vision') => alloc(workloadId, 0, from, to, { share: fraction, team });

  it('charges two half shares of one GPU half the GPU each, with nothing idle', () => {
    // GPU 0 at $2 for 1 h, held by a (vision) and b (nlp) at 0.5 each: 0.5 GPU-h and $1.00 each
    const r = costReport({ inventory: [gpu(0)], allocations: [share('a', 0.5, 0, H), share('b', 0.5, 0, H, 'nlp')], samples: [] }, flat(2), { since: 0, until: H });
    expect(r.byWorkload.map((w) => [w.workloadId, w.allocatedGpuHours, w.billableGpuHours, w.cost])).toEqual([
      ['a', expect.closeTo(0.5, 9), expect.closeTo(0.5, 9), expect.closeTo(1, 9)],
      ['b', expect.closeTo(0.5, 9), expect.closeTo(0.5, 9), expect.closeTo(1, 9)],
    ]);
    expect(r.byTeam.map((t) => [t.team, t.cost])).toEqual([
      ['nlp', expect.closeTo(1, 9)],
      ['vision', expect.closeTo(1, 9)],
    ]);
    expect(r.idle.gpuHours).toBeCloseTo(0, 9);
    // the GPU's $2.00, not 2 × $2.00
    expect(r.totals.cost).toBeCloseTo(2, 9);
  });

  it('charges a quarter share a quarter of the GPU and the rest to idle', () => {
    // GPU 0 at $4 for 1 h, a 0.25 share throughout: 0.25 GPU-h = $1.00; idle 0.75 GPU-h = $3.00
    const r = costReport({ inventory: [gpu(0)], allocations: [share('q', 0.25, 0, H)], samples: [sample(0, 0, 0.6, true)] }, flat(4), { since: 0, until: H });
    const [q] = r.byWorkload;
    expect(q!.allocatedGpuHours).toBeCloseTo(0.25, 9);
    expect(q!.cost).toBeCloseTo(1, 9);
    // the GPU's activity holds for its share: used 0.25 GPU-h, activity 0.6 × 0.25 = 0.15, efficiency 0.6
    expect(q!.usedGpuHours).toBeCloseTo(0.25, 9);
    expect(q!.activityGpuHours).toBeCloseTo(0.15, 9);
    expect(q!.efficiency).toBeCloseTo(0.6, 9);
    // the sample's use is the holder's to explain: none of it is unallocated use
    expect(r.unallocatedUse.gpuHours).toBe(0);
    expect(r.idle.gpuHours).toBeCloseTo(0.75, 9);
    expect(r.idle.cost).toBeCloseTo(3, 9);
    expect(r.totals.gpuHours).toBeCloseTo(1, 9);
    expect(r.totals.cost).toBeCloseTo(4, 9);
  });

  it('prices a share across a price change', () => {
    // a 0.5 share of GPU 0 for [0, 2 h): $2.00 until 1 h 30 min, then $3.00
    // 0.5 × (1.5 × 2 + 0.5 × 3) = 0.5 × 4.5 = $2.25; the other half is idle, also $2.25
    const book = parsePriceBook({ models: { [MODEL]: [{ from: 0, pricePerGpuHour: 2 }, { from: 90 * M, pricePerGpuHour: 3 }] } });
    const r = costReport({ inventory: [gpu(0)], allocations: [share('w', 0.5, 0, 2 * H)], samples: [] }, book, { since: 0, until: 2 * H });
    expect(r.byWorkload[0]!.cost).toBeCloseTo(2.25, 9);
    expect(r.idle.cost).toBeCloseTo(2.25, 9);
  });

  it('charges a share over partial hours exactly', () => {
    // a 0.25 share for 17 min at $3.00: 0.25 × 17/60 × 3 = $0.2125
    const r = costReport({ inventory: [gpu(0)], allocations: [share('w', 0.25, 0, 17 * M)], samples: [] }, flat(3), { since: 0, until: H });
    expect(r.byWorkload[0]!.allocatedGpuHours).toBeCloseTo(0.25 * (17 / 60), 9);
    expect(r.byWorkload[0]!.cost).toBeCloseTo(0.2125, 9);
    // idle: 0.75 of the GPU for 17 min and all of it for 43 min: (0.75 × 17 + 43) / 60 × 3 = $2.7875
    expect(r.idle.cost).toBeCloseTo(2.7875, 9);
    expect(r.totals.cost).toBeCloseTo(3, 9);
  });

  it('scales shares that add up to more than the GPU down to the whole GPU', () => {
    // 0.7 + 0.6 = 1.3 of GPU 0 for 1 h at $2.60: charged 0.7/1.3 and 0.6/1.3 of $2.60 = $1.40 and $1.20
    const r = costReport({ inventory: [gpu(0)], allocations: [share('a', 0.7, 0, H), share('b', 0.6, 0, H)], samples: [] }, flat(2.6), { since: 0, until: H });
    expect(r.byWorkload.map((w) => [w.workloadId, w.cost])).toEqual([
      ['a', expect.closeTo(1.4, 9)],
      ['b', expect.closeTo(1.2, 9)],
    ]);
    expect(r.idle.gpuHours).toBe(0);
    expect(r.totals.cost).toBeCloseTo(2.6, 9);
  });

  it('charges a share only for the time it is held, the GPU then idle or held by the next', () => {
    // GPU 0 at $2 over 2 h: a holds 0.5 over [0, 1 h); b holds 0.5 over [30 min, 2 h)
    // a: 0.5 × 1 × 2 = $1.00; b: 0.5 × 1.5 × 2 = $1.50; idle: 0.5 × 30 min + 0 + 0.5 × 1 h = 0.75 GPU-h = $1.50
    const r = costReport({ inventory: [gpu(0)], allocations: [share('a', 0.5, 0, H), share('b', 0.5, 30 * M, 2 * H)], samples: [] }, flat(2), { since: 0, until: 2 * H });
    expect(r.byWorkload.map((w) => [w.workloadId, w.cost])).toEqual([
      ['a', expect.closeTo(1, 9)],
      ['b', expect.closeTo(1.5, 9)],
    ]);
    expect(r.idle.gpuHours).toBeCloseTo(0.75, 9);
    expect(r.idle.cost).toBeCloseTo(1.5, 9);
  });
});
