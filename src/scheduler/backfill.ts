import { note, own, type Cycle, type PendingState } from './cycle.js';
import { NodeState, type FleetState } from './fleet.js';
import { isFractional, workloadAmounts } from './resources.js';

/**
 * Gives a blocked workload a reservation at the earliest time it can start, from the time limits
 * of what runs now: the nodes it will use keep those GPUs for it, and later workloads may only use
 * them if they end before then or leave enough free. A workload with fractional GPUs, or one
 * waiting on work without time limits, gets none. Returns whether it got one.
 */
export function reserve(cycle: Cycle, p: PendingState): boolean {
  const { request, replicas, topology } = p.source;
  if (isFractional(request) || request.gpus === 0) return false;
  if (cycle.fleet.timeLimited === 0) {
    note(p, 'notes', noPromise);
    return false;
  }
  let searched = false;
  for (const model of cycle.modelsFor(p.source)) {
    if (model === null) continue;
    // Its queues' limits keep it off this model already (its reasons say so): a reservation here would promise a start they forbid.
    const amounts = workloadAmounts(p.source, model, cycle.memoryOf(model));
    if (p.queue && cycle.tree.limitBlock(p.queue, amounts, cycle.reservedAgainst(p)) !== null) continue;
    searched = true;
    const eligible = (n: NodeState) => n.schedulable && n.reservation === null && n.byModel.has(model);
    // When each GPU of the model becomes free, per node, ascending.
    const times = freeTimes(cycle.fleet, model, cycle.now);
    const timesOf = (node: NodeState) => times.of(node);
    const found = replicas === 1 && request.cpus <= 0 && request.memoryMiB <= 0 && topology.required === null ? soonestNode(cycle.fleet.nodes, eligible, timesOf, request.gpus) : searchGroups(cycle, p, eligible, timesOf);
    if (found === null) continue;
    const { at, group } = found;
    const nodeIds: string[] = [];
    let left = replicas;
    for (const { node, slots } of group) {
      if (left === 0) break;
      const take = Math.min(left, slots);
      left -= take;
      node.reservation = {
        workloadId: p.source.id,
        workloadName: p.source.name,
        at,
        model,
        gpus: take * request.gpus,
        freeAt: countUpTo(timesOf(node), at),
        cpus: take * request.cpus,
        cpusAt: freeBy(cycle, node, at, 'cpus'),
        memoryMiB: take * request.memoryMiB,
        memoryAt: freeBy(cycle, node, at, 'memoryMiB'),
      };
      nodeIds.push(node.id);
    }
    cycle.plan.reservations.push({ workloadId: p.source.id, at, nodeIds });
    cycle.keepQuota(p, amounts, at);
    note(p, 'notes', `reserved: starts by ${new Date(at).toISOString()} on ${nodeIds.length} node${nodeIds.length === 1 ? '' : 's'}, when running workloads reach their time limits`);
    return true;
  }
  if (searched) note(p, 'notes', noPromise);
  return false;
}

interface Slots {
  node: NodeState;
  slots: number;
}

/**
 * The earliest time `p` can start on nodes of one model (`timesOf`) and those nodes, the ones
 * with the most slots first (in fleet order among equals), or null if it never can.
 */
function searchGroups(cycle: Cycle, p: PendingState, eligible: (n: NodeState) => boolean, timesOf: (node: NodeState) => ArrayLike<number>): { at: number; group: Slots[] } | null {
  const { request, replicas, topology } = p.source;
  const nodes = cycle.fleet.nodes.filter(eligible);
  const slotsAt = (node: NodeState, at: number) =>
    Math.min(
      Math.floor(countUpTo(timesOf(node), at) / request.gpus),
      request.cpus > 0 ? Math.floor(freeBy(cycle, node, at, 'cpus') / request.cpus) : Infinity,
      request.memoryMiB > 0 ? Math.floor(freeBy(cycle, node, at, 'memoryMiB') / request.memoryMiB) : Infinity,
    );
  const groups = topology.required === null ? [nodes] : [...cycle.fleet.domains(topology.required).values()].map((d) => d.filter(eligible));
  const feasible = (at: number) => withSlots(groups, (node) => slotsAt(node, at), replicas);
  const at = request.cpus > 0 || request.memoryMiB > 0 ? earliestSearched(nodes, timesOf, feasible) : earliestByGpus(groups, timesOf, request.gpus, replicas);
  if (at === null) return null;
  // Most nodes have no slot, and are not sorted.
  return { at, group: feasible(at)!.sort((a, b) => b.slots - a.slots) };
}

/**
 * `searchGroups` for one replica of whole GPUs alone, anywhere, in one pass over the nodes: the
 * earliest time is the soonest a node has `gpus` GPUs free, and the node is the one of those with
 * the most slots then. Most reservations are such, and a cycle makes several.
 */
export function soonestNode(nodes: readonly NodeState[], eligible: (n: NodeState) => boolean, timesOf: (node: NodeState) => ArrayLike<number>, gpus: number): { at: number; group: Slots[] } | null {
  let best: NodeState | null = null;
  let at = Infinity;
  let most = 0;
  for (const node of nodes) {
    if (!eligible(node)) continue;
    const list = timesOf(node);
    if (list.length < gpus) continue;
    const t = list[gpus - 1]!;
    if (t > at || t === Infinity) continue;
    const slots = Math.floor(countUpTo(list, t) / gpus);
    if (t < at || slots > most) {
      best = node;
      at = t;
      most = slots;
    }
  }
  return best === null ? null : { at, group: [{ node: best, slots: most }] };
}

/** The nodes with slots of the first group that has `replicas` slots in all, each with its count. */
function withSlots(groups: NodeState[][], slotsOf: (node: NodeState) => number, replicas: number): Slots[] | null {
  for (const group of groups) {
    const out: Slots[] = [];
    let total = 0;
    for (const node of group) {
      const slots = slotsOf(node);
      if (slots <= 0) continue;
      out.push({ node, slots });
      total += slots;
    }
    if (total >= replicas) return out;
  }
  return null;
}

/** Up to this many replicas, the soonest slots are kept in an insertion list rather than all sorted. */
const SHORT_LIST = 32;

/**
 * The earliest time at which some group has `replicas` slots of `gpus` GPUs: a node's k-th slot is
 * free when its (k × gpus)-th GPU is, so that is the replicas-th soonest slot of the group.
 */
export function earliestByGpus(groups: NodeState[][], timesOf: (node: NodeState) => ArrayLike<number>, gpus: number, replicas: number): number | null {
  let best = Infinity;
  for (const group of groups) {
    if (replicas > SHORT_LIST) {
      const slots: number[] = [];
      for (const node of group) {
        const list = timesOf(node);
        for (let k = gpus; k <= list.length && Number.isFinite(list[k - 1]!); k += gpus) slots.push(list[k - 1]!);
      }
      if (slots.length >= replicas) best = Math.min(best, slots.sort((a, b) => a - b)[replicas - 1]!);
      continue;
    }
    // The soonest `replicas` slot times, ascending: a short insertion list, as most reservations are for one replica.
    const soonest: number[] = [];
    for (const node of group) {
      const list = timesOf(node);
      for (let k = gpus; k <= list.length; k += gpus) {
        const t = list[k - 1]!;
        if (!Number.isFinite(t) || (soonest.length === replicas && t >= soonest[replicas - 1]!)) break;
        let i = soonest.length === replicas ? replicas - 1 : soonest.length;
        while (i > 0 && soonest[i - 1]! > t) {
          soonest[i] = soonest[i - 1]!;
          i--;
        }
        soonest[i] = t;
      }
    }
    if (soonest.length === replicas) best = Math.min(best, soonest[replicas - 1]!);
  }
  return best === Infinity ? null : best;
}

/** The earliest of the free times of `nodes`' GPUs at which `feasible` holds (cores and memory bind too), by binary search. */
export function earliestSearched(nodes: readonly NodeState[], timesOf: (node: NodeState) => ArrayLike<number>, feasible: (at: number) => unknown): number | null {
  const times = new Set<number>();
  for (const node of nodes) {
    const list = timesOf(node);
    for (let i = 0; i < list.length; i++) if (Number.isFinite(list[i]!)) times.add(list[i]!);
  }
  const sorted = [...times].sort((a, b) => a - b);
  let low = 0;
  let high = sorted.length - 1;
  if (high < 0 || !feasible(sorted[high]!)) return null;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (feasible(sorted[mid]!)) high = mid;
    else low = mid + 1;
  }
  return sorted[low]!;
}

/**
 * Each node's GPUs of one model by when they free, ascending, by ordinal: kept while the node is
 * unchanged (its version), as a cycle asks again for every reservation it makes and most nodes
 * have not changed since the last cycle either. A time kept from an earlier clock is moved up to
 * this one's: a GPU free then, or freed since, is free now, and the order holds.
 */
class FreeTimes {
  private readonly versions: Float64Array;
  private readonly lists: Float64Array[];

  constructor(
    nodes: number,
    private readonly model: string,
    public now: number,
  ) {
    this.versions = new Float64Array(nodes);
    this.lists = new Array<Float64Array>(nodes);
  }

  of(node: NodeState): Float64Array {
    const o = node.ordinal;
    const now = this.now;
    if (this.versions[o] === node.version + 1) {
      const list = this.lists[o]!;
      for (let i = 0; i < list.length && list[i]! < now; i++) list[i] = now;
      return list;
    }
    const gpus = node.byModel.get(this.model)!;
    const list = new Float64Array(gpus.length);
    for (let i = 0; i < gpus.length; i++) list[i] = NodeState.freeAt(gpus[i]!, now);
    // A typed array sorts numbers without a comparator.
    this.lists[o] = list.sort();
    this.versions[o] = node.version + 1;
    return list;
  }
}

const freeTimesKept = new WeakMap<FleetState, Map<string, FreeTimes>>();

/** The fleet's free times of `model` at `now`; those kept hold while time goes forward (a carried fleet's nodes keep their versions). */
function freeTimes(fleet: FleetState, model: string, now: number): FreeTimes {
  let byModel = freeTimesKept.get(fleet);
  if (!byModel) freeTimesKept.set(fleet, (byModel = new Map()));
  let kept = byModel.get(model);
  if (!kept || kept.now > now) byModel.set(model, (kept = new FreeTimes(fleet.nodes.length, model, now)));
  kept.now = now;
  return kept;
}

/** A workload that starts now (in its turn, or where its victims were) no longer holds its reservation. */
export function dropReservation(cycle: Cycle, p: PendingState): void {
  const { plan } = cycle;
  const at = plan.reservations.findIndex((r) => r.workloadId === p.source.id);
  if (at < 0) return;
  for (const nodeId of plan.reservations[at]!.nodeIds) {
    const node = cycle.fleet.byId.get(nodeId);
    if (node?.reservation?.workloadId === p.source.id) node.reservation = null;
  }
  plan.reservations.splice(at, 1);
  cycle.keepQuota(p, null, 0);
  const found = own(p);
  found.notes = found.notes.filter((n) => !n.startsWith('reserved:'));
}

const noPromise = 'no start time can be promised yet: the work it waits for has no time limits';

/** Cores or memory free on `node` by `at`: free now plus what holders whose limits end by then give back. */
function freeBy(cycle: Cycle, node: NodeState, at: number, what: 'cpus' | 'memoryMiB'): number {
  let free = what === 'cpus' ? node.cpuFree : node.memFree;
  if (!Number.isFinite(free)) return free;
  for (const r of cycle.holdersOn(node)) {
    if (r.evicted || r.endAt > at) continue;
    for (const a of r.source.allocations) if (a.nodeId === node.id) free += a[what];
  }
  return free;
}

function countUpTo(sortedTimes: ArrayLike<number>, at: number): number {
  let n = 0;
  while (n < sortedTimes.length && sortedTimes[n]! <= at) n++;
  return n;
}
