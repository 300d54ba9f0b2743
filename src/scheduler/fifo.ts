import type { PendingWorkload, Plan, Snapshot, SnapshotNode, SnapshotQueue, Placement, PendingExplanation } from './types.js';
import { chargeQueue, quotaBlock } from './quota.js';

/**
 * The foundation policy: FIFO by priority within queues (queues by their priority), best effort —
 * a workload that cannot start does not block smaller ones behind it — respecting queue limits,
 * first-fit whole GPUs of one model on one node. Pure: the plan depends only on its arguments.
 */
export function scheduleFifo(snapshot: Snapshot, _now: number): Plan {
  const queues = new Map<string, SnapshotQueue>(
    snapshot.queues.map((q) => [q.id, { ...q, usage: { ...q.usage } }]),
  );
  const nodes = snapshot.nodes
    .filter((n) => n.schedulable)
    .map((n) => ({ node: n, free: freeGpus(n) }))
    .sort((a, b) => (a.node.name < b.node.name ? -1 : a.node.name > b.node.name ? 1 : 0));

  const index = new FreeIndex(nodes);
  const placements: Placement[] = [];
  const pending: PendingExplanation[] = [];
  for (const workload of orderPending(snapshot.pending, queues)) {
    const queue = queues.get(workload.queueId);
    if (!queue) {
      pending.push({ workloadId: workload.id, reasons: ['its queue no longer exists'] });
      continue;
    }
    const result = placeOne(workload, queue, nodes, index);
    if ('placement' in result) placements.push(result.placement);
    else pending.push({ workloadId: workload.id, reasons: result.reasons });
  }
  return { placements, pending };
}

interface NodeFree {
  node: SnapshotNode;
  /** Free GPU indices by model, ascending. */
  free: Map<string, number[]>;
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
    const counts = this.nodesByFree.get(model) ?? [];
    this.nodesByFree.set(model, counts);
    if (from !== null) counts[from]! -= 1;
    counts[to] = (counts[to] ?? 0) + 1;
  }

  /** Models a workload may take that some node had free GPUs of, with the most free on one node now. */
  largest(gpuModel: string | null): Map<string, number> {
    const result = new Map<string, number>();
    for (const [model, counts] of this.nodesByFree) {
      if (gpuModel !== null && model !== gpuModel) continue;
      let top = counts.length - 1;
      while (top > 0 && !counts[top]) top--;
      result.set(model, top);
    }
    return result;
  }
}

function freeGpus(node: SnapshotNode): Map<string, number[]> {
  const used = new Set(node.usedGpuIndices);
  const free = new Map<string, number[]>();
  for (const gpu of [...node.gpus].sort((a, b) => a.index - b.index)) {
    if (used.has(gpu.index)) continue;
    const list = free.get(gpu.model) ?? [];
    list.push(gpu.index);
    free.set(gpu.model, list);
  }
  return free;
}

function orderPending(pending: PendingWorkload[], queues: Map<string, SnapshotQueue>): PendingWorkload[] {
  const queuePriority = (w: PendingWorkload) => queues.get(w.queueId)?.priority ?? 0;
  return [...pending].sort(
    (a, b) =>
      queuePriority(b) - queuePriority(a) ||
      b.priority - a.priority ||
      a.submittedAt - b.submittedAt ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

function placeOne(
  workload: PendingWorkload,
  queue: SnapshotQueue,
  nodes: NodeFree[],
  index: FreeIndex,
): { placement: Placement } | { reasons: string[] } {
  if (nodes.length === 0) return { reasons: ['no ready node in the fleet'] };
  if (workload.gpus === 0) {
    const first = nodes[0]!;
    return { placement: { workloadId: workload.id, nodeId: first.node.id, gpuIndices: [], gpuModel: null } };
  }
  const reasons = new Set<string>();
  const largest = index.largest(workload.gpuModel);
  const largestFree = Math.max(0, ...largest.values());
  const modelSeen = largest.size > 0;
  // The walk below can only place, or find quota reasons, on a model with a block large enough.
  const fitting = [...largest].filter(([, free]) => free >= workload.gpus).map(([model]) => model);
  const blocks = fitting.map((model) => quotaBlock(queue, model, workload.gpus));
  // Blocked on every fitting model for one reason: the walk would only find that reason again.
  const walk = fitting.length > 0 && !(blocks.every((b) => b !== null) && new Set(blocks).size === 1);
  if (!walk && blocks[0]) reasons.add(blocks[0]);
  for (const entry of walk ? nodes : []) {
    for (const [model, indices] of entry.free) {
      if (workload.gpuModel !== null && model !== workload.gpuModel) continue;
      if (indices.length < workload.gpus) continue;
      const blocked = quotaBlock(queue, model, workload.gpus);
      if (blocked) {
        reasons.add(blocked);
        continue;
      }
      const taken = indices.splice(0, workload.gpus);
      index.moved(model, indices.length + workload.gpus, indices.length);
      chargeQueue(queue, model, workload.gpus);
      return { placement: { workloadId: workload.id, nodeId: entry.node.id, gpuIndices: taken, gpuModel: model } };
    }
  }
  const model = workload.gpuModel ?? 'any model';
  const anyGpuOfModel = nodes.some((n) => n.node.gpus.some((g) => workload.gpuModel === null || g.model === workload.gpuModel));
  if (!anyGpuOfModel) reasons.add(`no ready node has GPUs of model ${model}`);
  else if (!modelSeen || largestFree < workload.gpus)
    reasons.add(`no node has ${workload.gpus} free GPUs of ${model} (most free on one node: ${largestFree})`);
  return { reasons: [...reasons] };
}
