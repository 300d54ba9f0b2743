import { assertWindow, clip, covers, type Span } from './intervals.js';
import type { AllocationInterval, FleetHistory, InventoryInterval, UsageSample, Window } from './types.js';

/** A stretch of one GPU's time over which nothing about it changes. */
export interface GpuSegment extends Span {
  node: string;
  gpuIndex: number;
  /** From the inventory, else from the allocation; null only for use of a GPU nobody listed. */
  model: string | null;
  inInventory: boolean;
  /** More than one when the GPU is shared, or double-booked. */
  allocations: readonly AllocationInterval[];
  /** The fraction of the GPU charged to each of `allocations`, in the same order. */
  charged: readonly number[];
  /** The GPU's latest sample at the segment's start; null before its first sample. */
  sample: UsageSample | null;
}

interface GpuHistory {
  node: string;
  gpuIndex: number;
  inventory: InventoryInterval[];
  allocations: AllocationInterval[];
  samples: UsageSample[];
}

function byGpu(history: FleetHistory): GpuHistory[] {
  const gpus = new Map<string, GpuHistory>();
  const entry = (node: string, gpuIndex: number): GpuHistory => {
    const key = `${node}\u0000${gpuIndex}`;
    let gpu = gpus.get(key);
    if (gpu === undefined) {
      gpu = { node, gpuIndex, inventory: [], allocations: [], samples: [] };
      gpus.set(key, gpu);
    }
    return gpu;
  };
  for (const i of history.inventory) entry(i.node, i.gpuIndex).inventory.push(i);
  for (const a of history.allocations) entry(a.node, a.gpuIndex).allocations.push(a);
  for (const s of history.samples) entry(s.node, s.gpuIndex).samples.push(s);
  return [...gpus.values()];
}

/**
 * Shares of one GPU that add up to more than the whole (rounded over, or overbooked) are scaled
 * down to fill it exactly, so a shared GPU never costs more than the GPU. A whole GPU held twice is
 * a double booking, a scheduler fault: each holder is charged in full to leave it visible.
 */
function chargedShares(allocations: readonly AllocationInterval[]): number[] {
  const shares = allocations.map((a) => a.share ?? 1);
  const total = shares.reduce((sum, s) => sum + s, 0);
  if (total <= 1 || shares.some((s) => s >= 1)) return shares;
  return shares.map((s) => s / total);
}

/**
 * Every GPU's time inside the window, cut wherever its inventory, allocations or samples change,
 * in time order per GPU. Time when a GPU is neither listed, nor allocated, nor used carries nothing
 * to account and is left out.
 */
export function* gpuSegments(history: FleetHistory, window: Window): Generator<GpuSegment> {
  assertWindow(window);
  for (const gpu of byGpu(history)) {
    // Stable sort: of two samples at the same instant the later-reported one wins.
    const samples = [...gpu.samples].sort((a, b) => a.t - b.t);
    const points = new Set<number>([window.since, window.until]);
    for (const interval of [...gpu.inventory, ...gpu.allocations]) {
      const span = clip(interval, window);
      if (span !== null) points.add(span.from).add(span.to);
    }
    for (const s of samples) if (s.t > window.since && s.t < window.until) points.add(s.t);
    const cuts = [...points].sort((a, b) => a - b);

    let next = 0;
    let sample: UsageSample | null = null;
    for (let i = 0; i + 1 < cuts.length; i++) {
      const from = cuts[i]!;
      while (next < samples.length && samples[next]!.t <= from) sample = samples[next++]!;
      const inventory = gpu.inventory.find((iv) => covers(iv, from));
      const allocations = gpu.allocations.filter((a) => covers(a, from));
      if (inventory === undefined && allocations.length === 0 && sample?.used !== true) continue;
      yield {
        node: gpu.node,
        gpuIndex: gpu.gpuIndex,
        from,
        to: cuts[i + 1]!,
        model: inventory?.model ?? allocations[0]?.model ?? null,
        inInventory: inventory !== undefined,
        allocations,
        charged: chargedShares(allocations),
        sample,
      };
    }
  }
}
