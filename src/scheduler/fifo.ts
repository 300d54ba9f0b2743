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

  const placements: Placement[] = [];
  const pending: PendingExplanation[] = [];
  for (const workload of orderPending(snapshot.pending, queues)) {
    const queue = queues.get(workload.queueId);
    if (!queue) {
      pending.push({ workloadId: workload.id, reasons: ['its queue no longer exists'] });
      continue;
    }
    const result = placeOne(workload, queue, nodes);
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
): { placement: Placement } | { reasons: string[] } {
  if (nodes.length === 0) return { reasons: ['no ready node in the fleet'] };
  if (workload.gpus === 0) {
    const first = nodes[0]!;
    return { placement: { workloadId: workload.id, nodeId: first.node.id, gpuIndices: [], gpuModel: null } };
  }
  const reasons = new Set<string>();
  let largestFree = 0;
  let modelSeen = false;
  for (const entry of nodes) {
    for (const [model, indices] of entry.free) {
      if (workload.gpuModel !== null && model !== workload.gpuModel) continue;
      modelSeen = true;
      largestFree = Math.max(largestFree, indices.length);
      if (indices.length < workload.gpus) continue;
      const blocked = quotaBlock(queue, model, workload.gpus);
      if (blocked) {
        reasons.add(blocked);
        continue;
      }
      const taken = indices.splice(0, workload.gpus);
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
