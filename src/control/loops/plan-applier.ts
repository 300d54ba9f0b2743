import type { Move, Plan, Preemption, PreemptionKind, SchedulerConfig } from '../../scheduler/types.js';
import { newId, idPrefixes } from '../../core/ids.js';
import { getSchedulingRows, setClaims, updateWorkloadAt, type SchedulingWorkloadRow } from '../../store/workloads-repo.js';
import { insertReplica, listActiveReplicasWithQueue } from '../../store/replicas-repo.js';
import { bumpAssignmentRevision, listGpus, listNodes } from '../../store/nodes-repo.js';
import { listQueues } from '../../store/queues-repo.js';
import { insertEvents, type NewEvent } from '../../store/events-repo.js';
import { inTransaction } from '../../store/transaction.js';
import type { Db } from '../../store/db.js';
import { AllocationLedger } from './allocation-ledger.js';
import { toQueueQuota } from '../../scheduler/api-quotas.js';
import { allocationOf, workloadBase } from './snapshot.js';
import { stopWorkloadReplicas } from '../services/replica-lifecycle.js';

export interface ApplyExpectations {
  /** Pending workloads at the version the plan saw; a placement of any other is dropped. */
  pendingVersions: Map<string, number>;
  /** Placed workloads at the generation the plan saw; a preemption of any other is dropped. */
  placedGenerations: Map<string, number>;
}

export interface ApplyOutcome {
  admitted: number;
  /** Placements and preemptions dropped because the state moved since the snapshot; the next cycle plans again. */
  conflicts: number;
  preempted: Array<{ workloadId: string; kind: PreemptionKind }>;
  movesProposed: number;
  nodeIds: string[];
  /** Workloads admitted for the first time, with how long they waited since submission. */
  firstAdmissions: Array<{ queueId: string; waitedMs: number }>;
}

/**
 * Commits a plan in one transaction after re-validating it against fresh state. Node rows are
 * locked first (in id order, so two appliers cannot deadlock), which serializes allocation on a
 * node across server replicas. A placement is all of a gang's replicas or none; a preemption stops
 * the victim's replicas and leaves it `preempted` until they have ended, when it is requeued
 * (replica-lifecycle.ts). Consolidation moves are carried out as preemptions when the config says
 * `apply` (the scheduler places the workload again once it is pending), recorded as proposals when
 * it says `propose`.
 */
export async function applyPlan(
  db: Db,
  plan: Plan,
  expected: ApplyExpectations,
  config: Pick<SchedulerConfig, 'consolidation'>,
  now: Date,
  proposeMove: (move: Move) => boolean = () => true,
): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { admitted: 0, conflicts: 0, preempted: [], movesProposed: 0, nodeIds: [], firstAdmissions: [] };
  const stops: Preemption[] = [...plan.preemptions];
  if (config.consolidation === 'apply')
    for (const m of plan.moves) stops.push({ workloadId: m.workloadId, kind: 'consolidate', forWorkloadId: m.forWorkloadId, reason: 'moved to make room for a gang that fits nowhere else' });
  const proposals = config.consolidation === 'propose' ? plan.moves.filter(proposeMove) : [];
  if (plan.placements.length === 0 && stops.length === 0 && proposals.length === 0) return outcome;

  return inTransaction(db, async (tx) => {
    const placedNodes = [...new Set(plan.placements.flatMap((p) => p.allocations.map((a) => a.nodeId)))].sort();
    if (placedNodes.length > 0) await tx.selectFrom('nodes').select('id').where('id', 'in', placedNodes).orderBy('id').forUpdate().execute();
    const rows = new Map(
      (await getSchedulingRows(tx, [...new Set([...plan.placements.map((p) => p.workloadId), ...stops.map((s) => s.workloadId), ...proposals.map((m) => m.workloadId)])])).map((w) => [w.id, w]),
    );
    const touched: string[] = [];
    const events: NewEvent[] = [];

    const claimants = new Set<string>();
    for (const stop of stops) {
      const victim = rows.get(stop.workloadId);
      const ok =
        victim !== undefined &&
        (victim.state === 'admitted' || victim.state === 'running') &&
        victim.preemptible &&
        victim.generation === expected.placedGenerations.get(victim.id);
      if (!ok) {
        outcome.conflicts++;
        continue;
      }
      const nodes = await preempt(tx, victim, stop, now, events);
      if (nodes === null) {
        outcome.conflicts++;
        continue;
      }
      touched.push(...nodes);
      outcome.preempted.push({ workloadId: victim.id, kind: stop.kind });
      claimants.add(stop.forWorkloadId);
    }
    // What the victims free stays the preemptors' after they have gone (the scheduler places claimants first).
    await setClaims(tx, [...claimants], now);

    for (const move of proposals) {
      const w = rows.get(move.workloadId);
      if (!w) continue;
      outcome.movesProposed++;
      events.push({
        actor: 'scheduler',
        kind: 'workload.move-proposed',
        targetKind: 'workload',
        targetId: w.id,
        message: `${w.name} could move to node(s) ${[...new Set(move.to.map((a) => a.nodeId))].join(', ')} to make room for ${rows.get(move.forWorkloadId)?.name ?? move.forWorkloadId}`,
        data: { forWorkloadId: move.forWorkloadId, to: move.to },
      });
    }

    if (plan.placements.length > 0) {
      const ledger = await buildLedger(tx);
      const gpuMemory = await gpuMemoryOf(tx);
      for (const p of plan.placements) {
        const w = rows.get(p.workloadId);
        const fresh = w !== undefined && w.state === 'pending' && w.version === expected.pendingVersions.get(w.id);
        const problem = fresh ? ledger.tryPlace(workloadBase(w), p.allocations) : 'changed since the snapshot';
        if (problem !== null || !w) {
          outcome.conflicts++;
          continue;
        }
        const generation = w.generation + 1;
        const updated = await updateWorkloadAt(tx, w.id, w.version, {
          state: 'admitted',
          reason: null,
          reasons: '[]',
          generation,
          attempts: w.attempts + 1,
          admitted_at: now,
          claimed_at: null,
        });
        if (!updated) {
          outcome.conflicts++;
          continue;
        }
        for (const [index, a] of p.allocations.entries()) {
          await insertReplica(tx, {
            id: newId(idPrefixes.replica),
            workloadId: w.id,
            nodeId: a.nodeId,
            generation,
            gpuIndices: a.gpuIndices,
            index,
            gpuModel: a.gpuModel,
            gpuFraction: a.gpuFraction,
            gpuMemoryMiB: sharedMemory(w, a.gpuFraction, gpuMemory(a.nodeId, a.gpuIndices[0])),
            cpus: a.cpus,
            memoryMiB: a.memoryMiB,
          });
          touched.push(a.nodeId);
        }
        outcome.admitted++;
        if (w.attempts === 0) outcome.firstAdmissions.push({ queueId: w.queue_id, waitedMs: now.getTime() - w.created_at.getTime() });
        events.push({
          actor: 'scheduler',
          kind: 'workload.admitted',
          targetKind: 'workload',
          targetId: w.id,
          message: `${w.name} admitted on ${p.allocations.map((a) => `node ${a.nodeId}${a.gpuIndices.length ? ` (GPUs ${a.gpuIndices.join(',')}${a.gpuFraction !== null ? ` × ${a.gpuFraction}` : ''})` : ''}`).join(', ')}`,
        });
      }
    }
    await bumpAssignmentRevision(tx, touched);
    await insertEvents(tx, events);
    outcome.nodeIds = [...new Set(touched)];
    return outcome;
  });
}

/** The victim's replicas are told to stop; it stays `preempted` until they have ended. Null when it changed meanwhile. */
async function preempt(tx: Db, victim: SchedulingWorkloadRow, stop: Preemption, now: Date, events: NewEvent[]): Promise<string[] | null> {
  const updated = await updateWorkloadAt(tx, victim.id, victim.version, {
    state: 'preempted',
    reason: `preempted (${stop.kind}): ${stop.reason}`,
    preempted_for: stop.forWorkloadId,
  });
  if (!updated) return null;
  const nodes = await stopWorkloadReplicas(tx, victim.id);
  events.push({
    actor: 'scheduler',
    kind: 'workload.preempted',
    targetKind: 'workload',
    targetId: victim.id,
    message: `${victim.name} preempted (${stop.kind}): ${stop.reason}`,
    data: { kind: stop.kind, reason: stop.reason, forWorkloadId: stop.forWorkloadId, at: now.toISOString() },
  });
  return nodes;
}

/** Everything active replicas hold right now, charged to their queues. */
async function buildLedger(tx: Db): Promise<AllocationLedger> {
  const [nodes, gpus, queues, active] = await Promise.all([listNodes(tx), listGpus(tx), listQueues(tx), listActiveReplicasWithQueue(tx)]);
  const ledger = new AllocationLedger(
    nodes.map((n) => ({
      id: n.id,
      ready: n.state === 'ready',
      labels: n.labels,
      cpus: n.cpus,
      memoryMiB: Number(n.memory_mib),
      gpus: gpus.filter((g) => g.node_id === n.id).map((g) => ({ index: g.idx, model: g.model, memoryMiB: g.memory_mib })),
    })),
    queues.map((q) => ({ id: q.id, name: q.name, parentId: q.parent_id, quotas: q.quotas.map(toQueueQuota) })),
  );
  for (const r of active) ledger.hold(r.queue_id, allocationOf(r));
  return ledger;
}

async function gpuMemoryOf(tx: Db): Promise<(nodeId: string, index: number | undefined) => number> {
  const gpus = await listGpus(tx);
  const memory = new Map(gpus.map((g) => [`${g.node_id}/${g.idx}`, g.memory_mib]));
  return (nodeId, index) => (index === undefined ? 0 : (memory.get(`${nodeId}/${index}`) ?? 0));
}

/** GPU memory a fractional replica may use: what it asked for, else its share of the GPU's memory (null when unknown). */
function sharedMemory(w: SchedulingWorkloadRow, fraction: number | null, gpuMemoryMiB: number): number | null {
  if (fraction === null) return null;
  if (w.gpu_memory_mib !== null) return w.gpu_memory_mib;
  return gpuMemoryMiB > 0 ? Math.floor(fraction * gpuMemoryMiB) : null;
}
