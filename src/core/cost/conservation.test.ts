import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costReport } from './cost.js';
import { clip, hoursOf } from './intervals.js';
import { costOver, parsePriceBook } from './prices.js';
import type { AllocationInterval, FleetHistory, InventoryInterval, UsageSample } from './types.js';

const M = 60_000;
const MODEL = 'H100-80GB';

/**
 * The conservation law: when every allocation and every use lies on a listed GPU and no GPU is
 * double-booked, each listed GPU-instant lands in exactly one row (a shared GPU's instant split
 * between its holders and idle), so
 *   Σ teams billable + unallocated use + idle = listed GPU-hours in the window, and
 *   Σ teams cost + unallocated use + idle = Σ over listed GPU-time of price(t) dt.
 * Workload, team and queue rows are three groupings of the same allocations, so their sums agree.
 */
const gpuArbitrary = fc
  .record({
    listedFrom: fc.integer({ min: 0, max: 600 }),
    listedFor: fc.integer({ min: 1, max: 600 }),
    // cut points inside the listed time; each piece is held by one of three workloads, shared by
    // two of them (shares of 0.5 and 0.3, the rest idle), or by nobody
    cuts: fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { maxLength: 6 }),
    owners: fc.array(fc.constantFrom('w1', 'w2', 'w3', 'w1+w3', null), { minLength: 7, maxLength: 7 }),
    samples: fc.array(fc.record({ at: fc.integer({ min: 0, max: 1000 }), activity: fc.double({ min: 0, max: 1, noNaN: true }), used: fc.boolean() }), { maxLength: 6 }),
  })
  .map(({ listedFrom, listedFor, cuts, owners, samples }) => ({ from: listedFrom * M, to: (listedFrom + listedFor) * M, cuts, owners, samples }));

const teamOf: Record<string, string> = { w1: 'a', w2: 'a', w3: 'b' };

type GeneratedGpu = typeof gpuArbitrary extends fc.Arbitrary<infer T> ? T : never;

function historyOf(gpus: GeneratedGpu[], stillListed: boolean): FleetHistory {
  const inventory: InventoryInterval[] = [];
  const allocations: AllocationInterval[] = [];
  const samples: UsageSample[] = [];
  gpus.forEach((g, gpuIndex) => {
    const node = `n${gpuIndex % 2}`;
    const end = stillListed && gpuIndex === 0 ? null : g.to;
    inventory.push({ node, gpuIndex, model: MODEL, from: g.from, to: end });
    const span = g.to - g.from;
    const points = [g.from, ...g.cuts.map((c) => g.from + Math.floor((c / 1000) * span)).sort((a, b) => a - b), g.to];
    for (let i = 0; i + 1 < points.length; i++) {
      const owner = g.owners[i] ?? null;
      if (owner === null || points[i]! >= points[i + 1]!) continue;
      const last = i + 2 === points.length && end === null;
      const holders: Array<[string, number | undefined]> = owner === 'w1+w3' ? [['w1', 0.5], ['w3', 0.3]] : [[owner, undefined]];
      for (const [workloadId, share] of holders)
        allocations.push({ workloadId, team: teamOf[workloadId]!, queue: `q-${workloadId}`, node, model: MODEL, gpuIndex, ...(share === undefined ? {} : { share }), from: points[i]!, to: last ? null : points[i + 1]! });
    }
    for (const s of g.samples) samples.push({ node, gpuIndex, t: g.from + Math.floor((s.at / 1000) * span), engineActivity: s.activity, used: s.used });
    // the GPU leaves the inventory: nothing can run on it after
    if (end !== null) samples.push({ node, gpuIndex, t: g.to, engineActivity: 0, used: false });
  });
  // both nodes in a pool, so n0 goes model → pool and n1 model → pool → its own price
  return { inventory, allocations, samples, nodePools: new Map([['n0', { pool: 'cloud' }], ['n1', { pool: 'cloud' }]]) };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('cost conservation', () => {
  it('puts every listed GPU-hour, and every dollar, in exactly one row', () => {
    const book = parsePriceBook({
      models: { [MODEL]: [{ from: 0, pricePerGpuHour: 2.5 }, { from: 400 * M, pricePerGpuHour: 3.1 }] },
      pools: { cloud: [{ from: 200 * M, pricePerGpuHour: 1.1 }, { from: 500 * M, pricePerGpuHour: 1.3 }] },
      nodes: { n1: [{ from: 700 * M, pricePerGpuHour: 1.7 }] },
    });
    fc.assert(
      fc.property(
        fc.array(gpuArbitrary, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 900 }),
        fc.integer({ min: 1, max: 900 }),
        fc.boolean(),
        (gpus, since, length, stillListed) => {
          const window = { since: since * M, until: (since + length) * M };
          const history = historyOf(gpus, stillListed);
          const report = costReport(history, book, window);

          let listedHours = 0;
          let listedCost = 0;
          for (const g of history.inventory) {
            const span = clip(g, window);
            if (span === null) continue;
            listedHours += hoursOf(span);
            listedCost += costOver(book, { ...g, pool: history.nodePools?.get(g.node) }, span).cost;
          }
          const rowsHours = sum(report.byTeam.map((t) => t.billableGpuHours)) + report.unallocatedUse.gpuHours + report.idle.gpuHours;
          const rowsCost = sum(report.byTeam.map((t) => t.cost)) + report.unallocatedUse.cost + report.idle.cost;
          expect(rowsHours).toBeCloseTo(listedHours, 9);
          expect(rowsCost).toBeCloseTo(listedCost, 9);
          expect(report.totals.gpuHours).toBeCloseTo(listedHours, 9);
          expect(sum(report.byWorkload.map((w) => w.cost))).toBeCloseTo(sum(report.byTeam.map((t) => t.cost)), 9);
          expect(sum(report.byQueue.map((q) => q.cost))).toBeCloseTo(sum(report.byTeam.map((t) => t.cost)), 9);
          for (const row of report.byWorkload) {
            expect(row.usedGpuHours).toBeLessThanOrEqual(row.allocatedGpuHours + 1e-9);
            if (row.efficiency !== null) expect(row.efficiency).toBeLessThanOrEqual(1 + 1e-9);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
