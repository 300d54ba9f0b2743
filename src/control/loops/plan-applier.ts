import type { Plan } from '../../scheduler/types.js';
import { quotaBlock } from '../../scheduler/quota.js';
import { newId, idPrefixes } from '../../core/ids.js';
import { getWorkload, updateWorkloadAt } from '../../store/workloads-repo.js';
import { insertReplica, listActiveReplicas } from '../../store/replicas-repo.js';
import { bumpAssignmentRevision, listGpus } from '../../store/nodes-repo.js';
import { listQueues, queueUsage } from '../../store/queues-repo.js';
import { insertEvents, type NewEvent } from '../../store/events-repo.js';
import { inTransaction } from '../../store/transaction.js';
import type { Db } from '../../store/db.js';

export interface ApplyOutcome {
  admitted: number;
  /** Placements dropped because the state moved since the snapshot; the next cycle plans again. */
  conflicts: number;
  nodeIds: string[];
}

/**
 * Commits a plan in one transaction after re-validating every placement against fresh state: the
 * workload is still pending at the same version, the node is ready, its GPUs are free, the queue
 * stays within its limits. Node rows are locked first (in id order, so two appliers cannot
 * deadlock), which serializes allocation on a node across server replicas.
 */
export async function applyPlan(db: Db, plan: Plan, pendingVersions: Map<string, number>, now: Date): Promise<ApplyOutcome> {
  if (plan.placements.length === 0) return { admitted: 0, conflicts: 0, nodeIds: [] };
  return inTransaction(db, async (tx) => {
    const nodeIds = [...new Set(plan.placements.map((p) => p.nodeId))].sort();
    const nodes = await tx.selectFrom('nodes').select(['id', 'state']).where('id', 'in', nodeIds).orderBy('id').forUpdate().execute();
    const ready = new Set(nodes.filter((n) => n.state === 'ready').map((n) => n.id));
    const used = new Map<string, Set<number>>();
    for (const r of await listActiveReplicas(tx)) {
      const set = used.get(r.node_id) ?? new Set<number>();
      for (const i of r.gpu_indices) set.add(i);
      used.set(r.node_id, set);
    }
    const modelOf = new Map((await listGpus(tx)).map((g) => [`${g.node_id}/${g.idx}`, g.model]));
    const usage = await queueUsage(tx);
    const queues = new Map((await listQueues(tx)).map((q) => [q.id, { id: q.id, name: q.name, priority: q.priority, quotas: q.quotas, usage: usage.get(q.id) ?? {} }]));

    let admitted = 0;
    let conflicts = 0;
    const touched: string[] = [];
    const events: NewEvent[] = [];
    for (const p of plan.placements) {
      const workload = await getWorkload(tx, p.workloadId);
      const queue = workload ? queues.get(workload.queue_id) : undefined;
      const nodeUsed = used.get(p.nodeId) ?? new Set<number>();
      const models = p.gpuIndices.map((i) => modelOf.get(`${p.nodeId}/${i}`));
      const valid =
        workload !== undefined &&
        queue !== undefined &&
        workload.state === 'pending' &&
        workload.version === pendingVersions.get(workload.id) &&
        ready.has(p.nodeId) &&
        p.gpuIndices.length === workload.gpus &&
        p.gpuIndices.every((i) => !nodeUsed.has(i)) &&
        models.every((m) => m !== undefined && m === (p.gpuModel ?? m) && (workload.gpu_model === null || m === workload.gpu_model)) &&
        (p.gpuModel === null || quotaBlock(queue, p.gpuModel, p.gpuIndices.length) === null);
      if (!valid) {
        conflicts++;
        continue;
      }
      const generation = workload.generation + 1;
      await updateWorkloadAt(tx, workload.id, workload.version, {
        state: 'admitted',
        reason: null,
        generation,
        attempts: workload.attempts + 1,
        admitted_at: now,
      });
      await insertReplica(tx, { id: newId(idPrefixes.replica), workloadId: workload.id, nodeId: p.nodeId, generation, gpuIndices: p.gpuIndices });
      for (const i of p.gpuIndices) nodeUsed.add(i);
      used.set(p.nodeId, nodeUsed);
      if (p.gpuModel !== null) queue.usage[p.gpuModel] = (queue.usage[p.gpuModel] ?? 0) + p.gpuIndices.length;
      touched.push(p.nodeId);
      admitted++;
      events.push({
        actor: 'scheduler',
        kind: 'workload.admitted',
        targetKind: 'workload',
        targetId: workload.id,
        message: `${workload.name} admitted on node ${p.nodeId}${p.gpuIndices.length ? ` (GPUs ${p.gpuIndices.join(',')})` : ''}`,
      });
    }
    await bumpAssignmentRevision(tx, touched);
    await insertEvents(tx, events);
    return { admitted, conflicts, nodeIds: [...new Set(touched)] };
  });
}
