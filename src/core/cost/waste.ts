import { hoursOf } from './intervals.js';
import { costOver, type PriceBook } from './prices.js';
import { gpuSegments } from './timeline.js';
import type { AllocationInterval, FleetHistory, Window } from './types.js';

export interface WasteOptions {
  /** A GPU is idle while its engine activity is below this fraction. */
  activityBelow: number;
  /** Only idle stretches strictly longer than this count as waste. */
  longerThanMs: number;
}

export const defaultWasteOptions: WasteOptions = { activityBelow: 0.05, longerThanMs: 30 * 60_000 };

/** One uninterrupted idle stretch of one allocated GPU. */
export interface IdleStretch {
  node: string;
  gpuIndex: number;
  from: number;
  to: number;
  gpuHours: number;
  cost: number;
  unpricedGpuHours: number;
}

export interface WasteEntry {
  workloadId: string;
  team: string;
  queue: string;
  stretches: IdleStretch[];
  /** Distinct GPUs (node/index) with at least one stretch. */
  gpus: number;
  longestIdleMs: number;
  wastedGpuHours: number;
  cost: number;
}

/**
 * Workloads holding GPUs that stayed below the activity threshold for longer than the duration,
 * judged GPU by GPU so that one busy GPU cannot hide idle ones behind a workload-wide mean. Time
 * without a sample is not evidence of idleness and ends a stretch.
 */
export function wasteReport(history: FleetHistory, book: PriceBook, window: Window, options: Partial<WasteOptions> = {}): WasteEntry[] {
  const { activityBelow, longerThanMs } = { ...defaultWasteOptions, ...options };
  const open = new Map<AllocationInterval, IdleStretch>();
  const entries = new Map<string, WasteEntry>();

  const close = (allocation: AllocationInterval, stretch: IdleStretch): void => {
    open.delete(allocation);
    const idleMs = stretch.to - stretch.from;
    if (idleMs <= longerThanMs) return;
    let entry = entries.get(allocation.workloadId);
    if (entry === undefined) {
      entry = { workloadId: allocation.workloadId, team: allocation.team, queue: allocation.queue, stretches: [], gpus: 0, longestIdleMs: 0, wastedGpuHours: 0, cost: 0 };
      entries.set(allocation.workloadId, entry);
    }
    entry.stretches.push(stretch);
    entry.longestIdleMs = Math.max(entry.longestIdleMs, idleMs);
    entry.wastedGpuHours += stretch.gpuHours;
    entry.cost += stretch.cost;
  };

  for (const segment of gpuSegments(history, window)) {
    const idle = segment.sample !== null && segment.sample.engineActivity < activityBelow;
    segment.allocations.forEach((allocation, i) => {
      const stretch = open.get(allocation);
      if (stretch !== undefined && (!idle || stretch.to !== segment.from)) close(allocation, stretch);
      if (!idle) return;
      // A share of a GPU wastes only its part of the GPU.
      const share = segment.charged[i]!;
      const priced = costOver(book, { node: segment.node, model: segment.model ?? allocation.model, pool: history.nodePools?.get(segment.node) }, segment);
      const gpuHours = hoursOf(segment) * share;
      const current = open.get(allocation);
      if (current === undefined) {
        open.set(allocation, { node: segment.node, gpuIndex: segment.gpuIndex, from: segment.from, to: segment.to, gpuHours, cost: priced.cost * share, unpricedGpuHours: priced.unpricedGpuHours * share });
      } else {
        current.to = segment.to;
        current.gpuHours += gpuHours;
        current.cost += priced.cost * share;
        current.unpricedGpuHours += priced.unpricedGpuHours * share;
      }
    });
  }
  for (const [allocation, stretch] of [...open]) close(allocation, stretch);

  const result = [...entries.values()];
  for (const entry of result) {
    entry.stretches.sort((a, b) => a.from - b.from || a.node.localeCompare(b.node) || a.gpuIndex - b.gpuIndex);
    entry.gpus = new Set(entry.stretches.map((s) => `${s.node}\u0000${s.gpuIndex}`)).size;
  }
  return result.sort((a, b) => b.cost - a.cost || b.wastedGpuHours - a.wastedGpuHours || a.workloadId.localeCompare(b.workloadId));
}
