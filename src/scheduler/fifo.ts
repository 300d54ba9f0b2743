import type { PendingExplanation, PendingWorkload, Placement, Plan, ReplicaAllocation, Snapshot, SnapshotNode, SnapshotQueue } from './types.js';
import { chargeGpus, limitBlock, queueUsage, type Usage } from './quota.js';

/**
 * The foundation policy, kept as the baseline: FIFO by queue priority, workload priority and
 * submission; best effort — a workload that cannot start does not block smaller ones behind it;
 * whole GPUs of one model on one node per replica, first fit (nodes by name, lowest free indices);
 * each queue within its own `gpu` and `gpu/<model>` limits (not its ancestors'). A multi-replica
 * workload is placed replica by replica, and not at all if one replica does not fit. It never
 * preempts, moves or reserves. Fractional GPUs it refuses, and a multi-replica workload with a
 * required topology. Pure: the plan depends only on its arguments.
 */
export function scheduleFifo(snapshot: Snapshot, _now: number): Plan {
  const queues = new Map<string, SnapshotQueue>();
  for (const q of snapshot.queues) queues.set(q.id, q);
  const usage = queueUsage(snapshot.running);
  const nodes = freeNodes(snapshot);
  const index = new FreeIndex(nodes);
  const models = new Set<string>();
  for (const n of nodes) for (const g of n.node.gpus) models.add(g.model);
  const placements: Placement[] = [];
  const pending: PendingExplanation[] = [];
  for (const workload of orderPending(snapshot.pending, queues)) {
    const queue = queues.get(workload.queueId);
    if (!queue) {
      pending.push({ workloadId: workload.id, reasons: ['its queue no longer exists'] });
      continue;
    }
    let queueUse = usage.get(queue.id);
    if (!queueUse) usage.set(queue.id, (queueUse = new Map()));
    const result = placeWorkload(workload, { queue, usage: queueUse, nodes, index, models });
    if ('allocations' in result) placements.push({ workloadId: workload.id, allocations: result.allocations });
    else pending.push({ workloadId: workload.id, reasons: result.reasons });
  }
  return { placements, preemptions: [], moves: [], reservations: [], pending };
}

export const WHOLE_GPUS_ONLY = 'FIFO places whole GPUs only';

interface NodeFree {
  node: SnapshotNode;
  /** Free GPU indices by model, ascending. */
  free: Map<string, number[]>;
  /** Free cores and memory; Infinity where the node did not say. */
  cpus: number;
  memoryMiB: number;
}

interface Context {
  queue: SnapshotQueue;
  /** The queue's usage, charged as replicas are placed. */
  usage: Usage;
  nodes: NodeFree[];
  index: FreeIndex;
  /** GPU models of the ready nodes. */
  models: ReadonlySet<string>;
}

/**
 * How many nodes have each count of free GPUs, by model: the largest free block of a model is then
 * known without a scan, so a workload that fits nowhere (most of a large backlog) costs no node walk.
 */
class FreeIndex {
  private readonly nodesByFree = new Map<string, number[]>();

  constructor(nodes: NodeFree[]) {
    for (const { free } of nodes) for (const [model, indices] of free) this.moved(model, null, indices.length);
  }

  moved(model: string, from: number | null, to: number): void {
    let counts = this.nodesByFree.get(model);
    if (!counts) this.nodesByFree.set(model, (counts = []));
    if (from !== null) counts[from]! -= 1;
    counts[to] = (counts[to] ?? 0) + 1;
  }

  /** Models some node had free GPUs of. */
  models(): IterableIterator<string> {
    return this.nodesByFree.keys();
  }

  /** The most free GPUs of `model` on one node now. */
  largest(model: string): number {
    const counts = this.nodesByFree.get(model);
    if (!counts) return 0;
    let top = counts.length - 1;
    while (top > 0 && !counts[top]) top--;
    return top;
  }
}

interface Held {
  /** GPU indices held (a few per node: an array beats a set). */
  gpus: number[];
  cpus: number;
  memoryMiB: number;
}

// Module-level helpers rather than closures: the plan is made in hot loops (the trace replay calls
// scheduleFifo some 100,000 times), where a closure made per call costs more than the work it does.
const byName = (a: SnapshotNode, b: SnapshotNode) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byIndex = (a: { index: number }, b: { index: number }) => a.index - b.index;
const ascending = (a: number, b: number) => a - b;

/** Ready nodes in name order with what is free on them: GPUs held by any running allocation (a share too) are not. */
function freeNodes(snapshot: Snapshot): NodeFree[] {
  const held = new Map<string, Held>();
  for (const workload of snapshot.running) {
    for (const a of workload.allocations) {
      let h = held.get(a.nodeId);
      if (!h) held.set(a.nodeId, (h = { gpus: [], cpus: 0, memoryMiB: 0 }));
      for (const i of a.gpuIndices) h.gpus.push(i);
      h.cpus += a.cpus;
      h.memoryMiB += a.memoryMiB;
    }
  }
  const ready: SnapshotNode[] = [];
  for (const node of snapshot.nodes) if (node.schedulable) ready.push(node);
  ready.sort(byName);
  const nodes: NodeFree[] = [];
  for (const node of ready) {
    const h = held.get(node.id);
    const free = new Map<string, number[]>();
    for (const gpu of node.gpus.length > 1 ? [...node.gpus].sort(byIndex) : node.gpus) {
      if (h && h.gpus.includes(gpu.index)) continue;
      let list = free.get(gpu.model);
      if (!list) free.set(gpu.model, (list = []));
      list.push(gpu.index);
    }
    nodes.push({
      node,
      free,
      cpus: node.cpus > 0 ? node.cpus - (h?.cpus ?? 0) : Infinity,
      memoryMiB: node.memoryMiB > 0 ? node.memoryMiB - (h?.memoryMiB ?? 0) : Infinity,
    });
  }
  return nodes;
}

function orderPending(pending: PendingWorkload[], queues: Map<string, SnapshotQueue>): PendingWorkload[] {
  const keyed = pending.map((workload) => ({ workload, queuePriority: queues.get(workload.queueId)?.priority ?? 0 }));
  keyed.sort(
    (a, b) =>
      b.queuePriority - a.queuePriority ||
      b.workload.priority - a.workload.priority ||
      a.workload.submittedAt - b.workload.submittedAt ||
      (a.workload.id < b.workload.id ? -1 : a.workload.id > b.workload.id ? 1 : 0),
  );
  return keyed.map((k) => k.workload);
}

/** One replica taken, so a workload whose later replica does not fit can give it back. */
interface Taken {
  entry: NodeFree;
  allocation: ReplicaAllocation;
}

function placeWorkload(workload: PendingWorkload, ctx: Context): { allocations: ReplicaAllocation[] } | { reasons: string[] } {
  const { request } = workload;
  if (request.gpuFraction !== null || request.gpuMemoryMiB !== null) return { reasons: [WHOLE_GPUS_ONLY] };
  if (ctx.nodes.length === 0) return { reasons: ['no ready node in the fleet'] };
  if (workload.replicas < 1) return { reasons: [`asks for ${workload.replicas} replicas`] };
  if (workload.replicas > 1 && workload.topology.required !== null)
    return { reasons: [`FIFO does not place several replicas within one ${workload.topology.required}`] };
  const models = workload.gpuModels === null ? null : new Set(workload.gpuModels);
  const taken: Taken[] = [];
  // First fit only ever takes: the nodes before the one the last replica went to have no room for
  // the next identical replica either, so each replica's walk resumes there.
  let cursor = 0;
  for (let r = 0; r < workload.replicas; r++) {
    const result = placeReplica(workload, models, ctx, cursor);
    if ('reasons' in result) {
      for (let t = taken.length - 1; t >= 0; t--) giveBack(taken[t]!, ctx);
      if (workload.replicas === 1) return result;
      return { reasons: [`only ${r} of ${workload.replicas} replicas fit (all start or none do)`, ...result.reasons] };
    }
    taken.push(result.taken);
    cursor = result.at;
  }
  const allocations: ReplicaAllocation[] = [];
  for (const t of taken) allocations.push(t.allocation);
  return { allocations };
}

function placeReplica(
  workload: PendingWorkload,
  models: ReadonlySet<string> | null,
  ctx: Context,
  cursor: number,
): { taken: Taken; at: number } | { reasons: string[] } {
  const { gpus, cpus, memoryMiB } = workload.request;
  const { nodes, queue, usage, index } = ctx;
  if (gpus === 0) {
    for (let i = cursor; i < nodes.length; i++) if (roomy(nodes[i]!, cpus, memoryMiB)) return take(nodes[i]!, i, null, [], workload, usage);
    return { reasons: [`no ready node has ${cpus} cores and ${memoryMiB} MiB of memory free`] };
  }
  const reasons = new Set<string>();
  // The walk below can only place, or find other reasons, on a model with a block large enough:
  // `blocks` holds those models, each with the limit it would pass (null for none).
  let largestFree = 0;
  let blocks: Map<string, string | null> | null = null;
  let open = false;
  let sameBlock: string | null | undefined;
  for (const model of index.models()) {
    if (models !== null && !models.has(model)) continue;
    const free = index.largest(model);
    if (free > largestFree) largestFree = free;
    if (free < gpus) continue;
    const blocked = limitBlock(queue, usage, model, gpus);
    (blocks ??= new Map()).set(model, blocked);
    if (blocked === null) open = true;
    sameBlock = sameBlock === undefined || sameBlock === blocked ? blocked : null;
  }
  // Blocked on every fitting model for one reason: the walk would only find that reason again.
  const walk = blocks !== null && (open || !sameBlock);
  if (blocks !== null && !walk && sameBlock) reasons.add(sameBlock);
  let short = false;
  for (let i = walk ? cursor : nodes.length; i < nodes.length; i++) {
    const entry = nodes[i]!;
    for (const [model, indices] of entry.free) {
      if (indices.length < gpus) continue;
      const blocked = blocks!.get(model);
      if (blocked === undefined) continue;
      if (blocked !== null) {
        reasons.add(blocked);
        continue;
      }
      if (!roomy(entry, cpus, memoryMiB)) {
        short = true;
        continue;
      }
      const gpuIndices = indices.splice(0, gpus);
      index.moved(model, indices.length + gpus, indices.length);
      return take(entry, i, model, gpuIndices, workload, usage);
    }
  }
  const what = workload.gpuModels === null ? 'any model' : workload.gpuModels.join(' or ');
  if (short) reasons.add(`no node with ${gpus} free GPUs of ${what} has ${cpus} cores and ${memoryMiB} MiB of memory free`);
  const anyGpuOfModel = models === null ? ctx.models.size > 0 : workload.gpuModels!.some(ctx.models.has, ctx.models);
  if (!anyGpuOfModel) reasons.add(`no ready node has GPUs of model ${what}`);
  else if (largestFree < gpus) reasons.add(`no node has ${gpus} free GPUs of ${what} (most free on one node: ${largestFree})`);
  return { reasons: [...reasons] };
}

function roomy(entry: NodeFree, cpus: number, memoryMiB: number): boolean {
  return entry.cpus >= cpus && entry.memoryMiB >= memoryMiB;
}

function take(entry: NodeFree, at: number, model: string | null, gpuIndices: number[], workload: PendingWorkload, usage: Usage): { taken: Taken; at: number } {
  const { cpus, memoryMiB } = workload.request;
  entry.cpus -= cpus;
  entry.memoryMiB -= memoryMiB;
  if (model !== null) chargeGpus(usage, model, gpuIndices.length);
  const allocation: ReplicaAllocation = { nodeId: entry.node.id, gpuIndices, gpuFraction: null, gpuModel: model, cpus, memoryMiB };
  return { taken: { entry, allocation }, at };
}

function giveBack({ entry, allocation }: Taken, ctx: Context): void {
  entry.cpus += allocation.cpus;
  entry.memoryMiB += allocation.memoryMiB;
  const model = allocation.gpuModel;
  if (model === null) return;
  const indices = entry.free.get(model)!;
  const before = indices.length;
  indices.push(...allocation.gpuIndices);
  indices.sort(ascending);
  ctx.index.moved(model, before, indices.length);
  chargeGpus(ctx.usage, model, -allocation.gpuIndices.length);
}
