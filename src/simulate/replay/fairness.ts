import { waterFill } from '../../scheduler/queue-tree.js';
import { percentileSorted } from './percentile.js';
import type { QueueSeries } from './simulator.js';
import { windowIntegrals, windowLengths } from './time-windows.js';

/** What `fairness` in a replay's metrics means; printed with the figures in `-o json`. */
export const FAIRNESS_DEFINITION =
  "Jain's index, per time window, over the queues with demand (GPUs of running or pending jobs) in it, of each queue's mean allocated GPUs " +
  'divided by its fair allocation: the capacity water-filled over those queues in proportion to their guaranteed GPUs, each capped at its mean demand ' +
  '(what a capped queue leaves goes to the others). 1: every queue with demand got the same fraction of its fair allocation; 1/n: one of n took it all. ' +
  'jain is the mean over windows weighted by their length, jainP5 and jainMin the 5th percentile and the lowest window.';

export interface Fairness {
  definition: string;
  windowSeconds: number;
  /** Windows in which some queue had demand (the others count for nothing). */
  windows: number;
  jain: number;
  jainP5: number;
  jainMin: number;
}

/** Jain's fairness index: (Σx)² / (n Σx²); 1 when all equal, 1/n when one takes all. */
export function jainIndex(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sum = values.reduce((a, b) => a + b, 0);
  const sq = values.reduce((a, b) => a + b * b, 0);
  return sq === 0 ? 1 : (sum * sum) / (values.length * sq);
}

/**
 * Max-min fair allocation of `capacity` among claimants with `demand`, in proportion to `weight`:
 * no one gets more than it asks, and what one leaves goes to the rest. Claimants without weight
 * share (equally) only what the weighted ones leave.
 */
export function fairAllocation(capacity: number, demand: readonly number[], weight: readonly number[]): number[] {
  const fill = (amount: number, members: number[], weightOf: (i: number) => number) => {
    const given = waterFill(amount, members.map((i) => ({ weight: weightOf(i), head: 0, room: demand[i]! })));
    return new Map(members.map((i, j) => [i, given[j]!]));
  };
  const indices = demand.map((_, i) => i).filter((i) => demand[i]! > 0);
  const weighted = fill(capacity, indices.filter((i) => weight[i]! > 0), (i) => weight[i]!);
  const left = Math.max(0, capacity - [...weighted.values()].reduce((a, b) => a + b, 0));
  const unweighted = fill(left, indices.filter((i) => !(weight[i]! > 0)), () => 1);
  return demand.map((_, i) => weighted.get(i) ?? unweighted.get(i) ?? 0);
}

/** Jain's index of allocation / fair allocation in windows of `windowSeconds` from `from` to `to` (FAIRNESS_DEFINITION). */
export function windowedFairness(
  series: Readonly<Record<string, QueueSeries>>,
  entitledGpus: Readonly<Record<string, number>>,
  capacity: number,
  from: number,
  to: number,
  windowSeconds: number,
): Fairness {
  const queues = Object.keys(entitledGpus).sort();
  const integrals = (pick: (s: QueueSeries) => number[]) =>
    queues.map((q) => (series[q] ? windowIntegrals(series[q].times, pick(series[q]), from, to, windowSeconds) : []));
  const gpus = integrals((s) => s.gpus);
  const demand = integrals((s) => s.demand);
  const count = Math.max(0, ...gpus.map((g) => g.length));
  const lengths = windowLengths(from, to, windowSeconds, count);
  const weight = queues.map((q) => entitledGpus[q]!);
  const scored: Array<{ jain: number; length: number }> = [];
  for (let k = 0; k < count; k++) {
    const length = lengths[k]!;
    const asked = demand.map((d) => (d[k] ?? 0) / length);
    const fair = fairAllocation(capacity, asked, weight);
    const ratios: number[] = [];
    for (let i = 0; i < queues.length; i++) if (asked[i]! > 0 && fair[i]! > 0) ratios.push((gpus[i]![k] ?? 0) / length / fair[i]!);
    if (ratios.length > 0) scored.push({ jain: jainIndex(ratios), length });
  }
  const total = scored.reduce((sum, w) => sum + w.length, 0);
  const sorted = scored.map((w) => w.jain).sort((a, b) => a - b);
  return {
    definition: FAIRNESS_DEFINITION,
    windowSeconds,
    windows: scored.length,
    jain: total > 0 ? scored.reduce((sum, w) => sum + w.jain * w.length, 0) / total : NaN,
    jainP5: percentileSorted(sorted, 5),
    jainMin: sorted.length > 0 ? sorted[0]! : NaN,
  };
}
