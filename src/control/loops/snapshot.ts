import type { Snapshot } from '../../scheduler/types.js';
import { listGpus, listNodes } from '../../store/nodes-repo.js';
import { listActiveReplicas } from '../../store/replicas-repo.js';
import { listQueues, queueUsage } from '../../store/queues-repo.js';
import { listPendingWorkloads, type PendingWorkloadRow } from '../../store/workloads-repo.js';
import type { Db } from '../../store/db.js';

/** Reads the fleet into the scheduler's plain-data snapshot; the pending rows come back for the applier. */
export async function readSnapshot(db: Db): Promise<{ snapshot: Snapshot; pendingRows: Map<string, PendingWorkloadRow> }> {
  const [nodes, gpus, replicas, queues, usage, pending] = await Promise.all([
    listNodes(db),
    listGpus(db),
    listActiveReplicas(db),
    listQueues(db),
    queueUsage(db),
    listPendingWorkloads(db),
  ]);
  const used = new Map<string, number[]>();
  for (const r of replicas) used.set(r.node_id, [...(used.get(r.node_id) ?? []), ...r.gpu_indices]);
  const gpusByNode = new Map<string, typeof gpus>();
  for (const g of gpus) gpusByNode.set(g.node_id, [...(gpusByNode.get(g.node_id) ?? []), g]);
  return {
    snapshot: {
      nodes: nodes.map((n) => ({
        id: n.id,
        name: n.name,
        schedulable: n.state === 'ready',
        gpus: (gpusByNode.get(n.id) ?? []).map((g) => ({ index: g.idx, model: g.model, memoryMiB: g.memory_mib })),
        usedGpuIndices: used.get(n.id) ?? [],
      })),
      queues: queues.map((q) => ({ id: q.id, name: q.name, priority: q.priority, quotas: q.quotas, usage: usage.get(q.id) ?? {} })),
      pending: pending.map((w) => ({
        id: w.id,
        name: w.name,
        queueId: w.queue_id,
        priority: w.priority,
        gpus: w.gpus,
        gpuModel: w.gpu_model,
        submittedAt: w.created_at.getTime(),
      })),
    },
    pendingRows: new Map(pending.map((w) => [w.id, w])),
  };
}
