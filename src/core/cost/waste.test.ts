import { describe, expect, it } from 'vitest';
import { parsePriceBook } from './prices.js';
import type { AllocationInterval, InventoryInterval, UsageSample } from './types.js';
import { wasteReport } from './waste.js';

const H = 3_600_000;
const M = 60_000;
const MODEL = 'H100-80GB';
const book = parsePriceBook({ models: { [MODEL]: [{ from: 0, pricePerGpuHour: 2.5 }] } });
const window = { since: 0, until: 2 * H };

const gpu = (gpuIndex: number): InventoryInterval => ({ node: 'n1', gpuIndex, model: MODEL, from: 0, to: null });
const alloc = (workloadId: string, gpuIndex: number, from = 0, to: number | null = null): AllocationInterval => ({
  workloadId,
  team: 'nlp',
  queue: 'batch',
  node: 'n1',
  model: MODEL,
  gpuIndex,
  from,
  to,
});
const sample = (gpuIndex: number, t: number, engineActivity: number): UsageSample => ({ node: 'n1', gpuIndex, t, engineActivity, used: true });

describe('waste report', () => {
  it('finds a simulated idle GPU and leaves busy and briefly idle ones alone', () => {
    const report = wasteReport(
      {
        inventory: [gpu(0), gpu(1), gpu(2)],
        allocations: [alloc('idle', 0), alloc('busy', 1), alloc('short-idle', 2)],
        // GPU 0 at 0 throughout; GPU 1 at 0.9; GPU 2 at 0 for 20 min, then 0.7
        samples: [sample(0, 0, 0), sample(1, 0, 0.9), sample(2, 0, 0), sample(2, 20 * M, 0.7)],
      },
      book,
      window,
    );
    expect(report.map((e) => e.workloadId)).toEqual(['idle']);
    const [idle] = report;
    // 1 GPU × 2 h idle × $2.50 = $5.00
    expect(idle).toMatchObject({ team: 'nlp', queue: 'batch', gpus: 1, longestIdleMs: 2 * H });
    expect(idle!.wastedGpuHours).toBeCloseTo(2, 9);
    expect(idle!.cost).toBeCloseTo(5, 9);
    expect(idle!.stretches).toEqual([{ node: 'n1', gpuIndex: 0, from: 0, to: 2 * H, gpuHours: 2, cost: 5, unpricedGpuHours: 0 }]);
  });

  it('judges GPU by GPU, so a busy GPU does not hide an idle one', () => {
    // 2 GPUs for 1 h: GPU 0 at 1.0, GPU 1 at 0 → the workload's mean is 0.5, but GPU 1 wastes 1 GPU-h ($2.50)
    const report = wasteReport(
      { inventory: [gpu(0), gpu(1)], allocations: [alloc('mixed', 0, 0, H), alloc('mixed', 1, 0, H)], samples: [sample(0, 0, 1), sample(1, 0, 0)] },
      book,
      window,
    );
    expect(report).toHaveLength(1);
    expect(report[0]!.gpus).toBe(1);
    expect(report[0]!.stretches[0]!.gpuIndex).toBe(1);
    expect(report[0]!.cost).toBeCloseTo(2.5, 9);
  });

  it('needs strictly longer than the duration and strictly below the activity threshold', () => {
    const idleFor = (ms: number, activity = 0) =>
      wasteReport({ inventory: [gpu(0)], allocations: [alloc('w', 0, 0, ms)], samples: [sample(0, 0, activity)] }, book, window);
    expect(idleFor(30 * M)).toEqual([]);
    expect(idleFor(30 * M + 1)).toHaveLength(1);
    expect(idleFor(H, 0.05)).toEqual([]);
    expect(idleFor(H, 0.0499)).toHaveLength(1);
  });

  it('joins consecutive idle samples into one stretch and breaks it at a busy one', () => {
    // 0 for 20 min, then 0.02 for 20 min: one 40 min stretch → 2/3 GPU-h × $2.50 = $1.666…
    const joined = wasteReport(
      { inventory: [gpu(0)], allocations: [alloc('w', 0, 0, 40 * M)], samples: [sample(0, 0, 0), sample(0, 20 * M, 0.02)] },
      book,
      window,
    );
    expect(joined[0]!.stretches).toHaveLength(1);
    expect(joined[0]!.cost).toBeCloseTo((40 / 60) * 2.5, 9);
    // 25 min idle, 1 min busy, 25 min idle: no stretch exceeds 30 min
    const broken = wasteReport(
      { inventory: [gpu(0)], allocations: [alloc('w', 0, 0, 51 * M)], samples: [sample(0, 0, 0), sample(0, 25 * M, 0.9), sample(0, 26 * M, 0)] },
      book,
      window,
    );
    expect(broken).toEqual([]);
  });

  it('does not call a GPU idle without a sample, nor count idle time outside the window', () => {
    expect(wasteReport({ inventory: [gpu(0)], allocations: [alloc('w', 0)], samples: [] }, book, window)).toEqual([]);
    // idle since -1 h, still held; window [0, 2 h) sees 2 h of it
    const clipped = wasteReport({ inventory: [gpu(0)], allocations: [alloc('w', 0, -H)], samples: [sample(0, -H, 0)] }, book, window);
    expect(clipped[0]!.wastedGpuHours).toBeCloseTo(2, 9);
  });

  it('prices an idle stretch on a pooled node at the pool price', () => {
    // pool `cloud` at $1.20 from 1 h: 2 h idle = 1 h × $2.50 + 1 h × $1.20 = $3.70
    const pooled = parsePriceBook({ models: { [MODEL]: [{ from: 0, pricePerGpuHour: 2.5 }] }, pools: { cloud: [{ from: H, pricePerGpuHour: 1.2 }] } });
    const history = { inventory: [gpu(0)], allocations: [alloc('w', 0)], samples: [sample(0, 0, 0)], nodePools: new Map([['n1', { pool: 'cloud' }]]) };
    expect(wasteReport(history, pooled, window)[0]!.cost).toBeCloseTo(3.7, 9);
  });

  it('takes its thresholds as options', () => {
    const history = { inventory: [gpu(0)], allocations: [alloc('w', 0, 0, 20 * M)], samples: [sample(0, 0, 0.2)] };
    expect(wasteReport(history, book, window)).toEqual([]);
    expect(wasteReport(history, book, window, { activityBelow: 0.25, longerThanMs: 10 * M })).toHaveLength(1);
  });
});

describe('waste report: GPU shares', () => {
  it('counts only the idle share of a GPU', () => {
    // a 0.5 share of GPU 0 held 2 h at activity 0: 1 GPU-h wasted, $2.50
    const report = wasteReport({ inventory: [gpu(0)], allocations: [{ ...alloc('half', 0), share: 0.5 }], samples: [sample(0, 0, 0)] }, book, window);
    expect(report).toHaveLength(1);
    expect(report[0]!.longestIdleMs).toBe(2 * H);
    expect(report[0]!.wastedGpuHours).toBeCloseTo(1, 9);
    expect(report[0]!.cost).toBeCloseTo(2.5, 9);
  });
});
