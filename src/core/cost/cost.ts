import { hoursOf } from './intervals.js';
import { costOver, type PriceBook, type PricedSpan } from './prices.js';
import { gpuSegments, type GpuSegment } from './timeline.js';
import type { FleetHistory, Window } from './types.js';

/** GPU-time and money for one workload, team or queue over the window. */
export interface UsageRow {
  allocatedGpuHours: number;
  /** Allocated GPU-hours during which a process was on the GPU. */
  usedGpuHours: number;
  /** max(allocated, used) per GPU per instant; use without an allocation goes to `unallocatedUse`. */
  billableGpuHours: number;
  cost: number;
  /** Billable GPU-hours the price book had no price for; they are not in `cost`. */
  unpricedGpuHours: number;
  /** Allocated GPU-hours covered by a usage sample. */
  measuredGpuHours: number;
  /** ∫ engine activity over the measured allocated GPU-time, in GPU-hours. */
  activityGpuHours: number;
  /** activityGpuHours ÷ measuredGpuHours; null when nothing was measured. */
  efficiency: number | null;
}

export interface WorkloadRow extends UsageRow {
  workloadId: string;
  team: string;
  queue: string;
}

/** GPU-time nobody holds: idle (listed, unallocated, unused) or used without an allocation. */
export interface UnheldRow {
  gpuHours: number;
  cost: number;
  unpricedGpuHours: number;
}

export interface CostReport {
  window: Window;
  byWorkload: WorkloadRow[];
  byTeam: Array<UsageRow & { team: string }>;
  byQueue: Array<UsageRow & { queue: string }>;
  idle: UnheldRow;
  unallocatedUse: UnheldRow;
  /**
   * Every GPU-hour accounted: listed in the inventory, allocated or used. Without double booking,
   * Σ team billable + idle + unallocatedUse = gpuHours, and the same for cost.
   */
  totals: UnheldRow;
}

type Accumulator = Omit<UsageRow, 'efficiency'>;

const emptyAccumulator = (): Accumulator => ({
  allocatedGpuHours: 0,
  usedGpuHours: 0,
  billableGpuHours: 0,
  cost: 0,
  unpricedGpuHours: 0,
  measuredGpuHours: 0,
  activityGpuHours: 0,
});

const emptyUnheld = (): UnheldRow => ({ gpuHours: 0, cost: 0, unpricedGpuHours: 0 });

function addUnheld(row: UnheldRow, hours: number, priced: PricedSpan): void {
  row.gpuHours += hours;
  row.cost += priced.cost;
  row.unpricedGpuHours += priced.unpricedGpuHours;
}

/** A fraction of one GPU's time over a segment, priced as that fraction of the whole GPU's. */
function partOf(hours: number, priced: PricedSpan, fraction: number): { hours: number; priced: PricedSpan } {
  return { hours: hours * fraction, priced: { cost: priced.cost * fraction, unpricedGpuHours: priced.unpricedGpuHours * fraction } };
}

function addHeld(row: Accumulator, segment: GpuSegment, hours: number, priced: PricedSpan): void {
  row.allocatedGpuHours += hours;
  row.billableGpuHours += hours;
  row.cost += priced.cost;
  row.unpricedGpuHours += priced.unpricedGpuHours;
  if (segment.sample !== null) {
    row.measuredGpuHours += hours;
    row.activityGpuHours += hours * segment.sample.engineActivity;
    if (segment.sample.used) row.usedGpuHours += hours;
  }
}

function finish(row: Accumulator): UsageRow {
  return { ...row, efficiency: row.measuredGpuHours > 0 ? row.activityGpuHours / row.measuredGpuHours : null };
}

function accumulatorFor<K>(map: Map<K, Accumulator>, key: K): Accumulator {
  let row = map.get(key);
  if (row === undefined) {
    row = emptyAccumulator();
    map.set(key, row);
  }
  return row;
}

const byKey = <T>(key: (row: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** Cost, usage and efficiency per workload, team and queue, plus the idle and unallocated-use rows. */
export function costReport(history: FleetHistory, book: PriceBook, window: Window): CostReport {
  const workloads = new Map<string, { workloadId: string; team: string; queue: string; row: Accumulator }>();
  const teams = new Map<string, Accumulator>();
  const queues = new Map<string, Accumulator>();
  const idle = emptyUnheld();
  const unallocatedUse = emptyUnheld();
  const totals = emptyUnheld();

  for (const segment of gpuSegments(history, window)) {
    const hours = hoursOf(segment);
    const priced: PricedSpan =
      segment.model === null ? { cost: 0, unpricedGpuHours: hours } : costOver(book, { node: segment.node, model: segment.model, pool: history.nodePools?.get(segment.node) }, segment);
    if (segment.allocations.length === 0) {
      addUnheld(totals, hours, priced);
      addUnheld(segment.sample?.used === true ? unallocatedUse : idle, hours, priced);
      continue;
    }
    let held = 0;
    segment.allocations.forEach((a, i) => {
      let workload = workloads.get(a.workloadId);
      if (workload === undefined) {
        workload = { workloadId: a.workloadId, team: a.team, queue: a.queue, row: emptyAccumulator() };
        workloads.set(a.workloadId, workload);
      }
      const share = partOf(hours, priced, segment.charged[i]!);
      for (const row of [workload.row, accumulatorFor(teams, a.team), accumulatorFor(queues, a.queue)]) addHeld(row, segment, share.hours, share.priced);
      held += segment.charged[i]!;
    });
    // What the shares leave of a listed GPU is idle: a sample cannot say whether the use it saw is
    // the holders' or not, and the holders are there to explain it.
    const rest = segment.inInventory ? Math.max(0, 1 - held) : 0;
    if (rest > 0) {
      const part = partOf(hours, priced, rest);
      addUnheld(idle, part.hours, part.priced);
    }
    const accounted = partOf(hours, priced, Math.min(1, held + rest));
    addUnheld(totals, accounted.hours, accounted.priced);
  }

  return {
    window: { since: window.since, until: window.until },
    byWorkload: [...workloads.values()]
      .map((w) => ({ workloadId: w.workloadId, team: w.team, queue: w.queue, ...finish(w.row) }))
      .sort(byKey((w) => w.workloadId)),
    byTeam: [...teams].map(([team, row]) => ({ team, ...finish(row) })).sort(byKey((t) => t.team)),
    byQueue: [...queues].map(([queue, row]) => ({ queue, ...finish(row) })).sort(byKey((q) => q.queue)),
    idle,
    unallocatedUse,
    totals,
  };
}
