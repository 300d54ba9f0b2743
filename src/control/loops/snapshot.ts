import type { PendingWorkload, ReplicaAllocation, RunningWorkload, Snapshot, SnapshotQueue, WorkloadBase } from '../../scheduler/types.js';
import { pendingWorkload, runningWorkload, type RunningFields } from '../../scheduler/workload-objects.js';
import { listGpus, listNodes } from '../../store/nodes-repo.js';
import { listActiveReplicas, listReplicasRunSince } from '../../store/replicas-repo.js';
import { listQueues } from '../../store/queues-repo.js';
import { getSchedulingRows, listPendingWorkloads, listPlacedWorkloads, type SchedulingWorkloadRow } from '../../store/workloads-repo.js';
import type { ReplicaRow } from '../../store/schema.js';
import type { Db } from '../../store/db.js';
import { addAmounts, allocationAmounts } from '../../scheduler/resources.js';
import { decayedWeight, usageHorizonStart } from '../../core/decayed-usage.js';
import { toQueueQuota } from '../../scheduler/api-quotas.js';
import { agentPlaneLabel, clusterLabel } from '../../core/cluster-types.js';

export interface SnapshotRead {
  snapshot: Snapshot;
  /** The pending rows as read: the applier admits a workload only at this version. */
  pendingRows: Map<string, SchedulingWorkloadRow>;
  /** Generations of the workloads seen holding resources: the applier preempts only these. */
  placedGenerations: Map<string, number>;
  /** Pending work kept out of the snapshot because its team is over budget, with why. */
  budgetHeld: Array<{ id: string; reasons: string[] }>;
}

/**
 * Reads the fleet into the scheduler's plain-data snapshot. A team over its budget
 * (`heldTeams`: team id → reason) only runs preemptible work: its other pending work stays out.
 */
export async function readSnapshot(db: Db, now: Date, halfLifeMs: number, heldTeams: ReadonlyMap<string, string> = new Map()): Promise<SnapshotRead> {
  const nowMs = now.getTime();
  const [nodes, gpus, active, queues, pending, placed, recent] = await Promise.all([
    listNodes(db),
    listGpus(db),
    listActiveReplicas(db),
    listQueues(db),
    listPendingWorkloads(db),
    listPlacedWorkloads(db),
    listReplicasRunSince(db, new Date(usageHorizonStart(nowMs, halfLifeMs))),
  ]);

  // With clusters in the fleet, what only an agent can run is kept to agents (see placementTopology).
  const planes = nodes.some((n) => n.cluster_id !== null);
  const gpusByNode = new Map<string, typeof gpus>();
  for (const g of gpus) gpusByNode.set(g.node_id, [...(gpusByNode.get(g.node_id) ?? []), g]);

  const decayed = new Map<string, Record<string, number>>();
  for (const r of recent) {
    const weight = decayedWeight(r.started_at!.getTime(), r.finished_at?.getTime() ?? nowMs, nowMs, halfLifeMs);
    if (weight <= 0) continue;
    const usage = decayed.get(r.queue_id) ?? {};
    addAmounts(usage, allocationAmounts(allocationOf(r)), weight);
    decayed.set(r.queue_id, usage);
  }

  const teamOfQueue = new Map(queues.map((q) => [q.id, q.team_id]));
  const heldBy = (w: SchedulingWorkloadRow) => (w.preemptible ? undefined : heldTeams.get(teamOfQueue.get(w.queue_id) ?? ''));

  return {
    snapshot: {
      nodes: nodes.map((n) => ({
        id: n.id,
        name: n.name,
        schedulable: n.state === 'ready',
        labels: n.cluster_id === null && planes ? { ...n.labels, [agentPlaneLabel]: 'true' } : n.labels,
        cpus: n.cpus,
        memoryMiB: Number(n.memory_mib),
        gpus: (gpusByNode.get(n.id) ?? []).map((g) => ({ index: g.idx, model: g.model, memoryMiB: g.memory_mib })),
      })),
      queues: queues.map(
        (q): SnapshotQueue => ({
          id: q.id,
          name: q.name,
          parentId: q.parent_id,
          priority: q.priority,
          quotas: q.quotas.map(toQueueQuota),
          decayedUsage: decayed.get(q.id) ?? {},
        }),
      ),
      running: await runningWorkloads(db, placed, active, planes),
      // A service replica that ended sits out its restart backoff before it competes again.
      pending: pending
        .filter((w) => (w.restart_at === null || w.restart_at <= now) && heldBy(w) === undefined)
        .map((w): PendingWorkload => pendingWorkload(workloadOf(w, w.id, w.preemptible, w.replicas, planes), w.claimed_at?.getTime() ?? null)),
    },
    pendingRows: new Map(pending.map((w) => [w.id, w])),
    placedGenerations: new Map(placed.map((w) => [w.id, w.generation])),
    budgetHeld: pending.flatMap((w) => {
      const reason = heldBy(w);
      return reason === undefined ? [] : [{ id: w.id, reasons: [reason] }];
    }),
  };
}

/**
 * Admitted, running and preempted workloads with the replicas of their current generation. A
 * replica still active but no longer wanted (a preempted or cancelled workload, an older
 * generation of a requeued one) still holds its resources until its process ends, so it appears
 * too, as `releasing`; when its workload is pending again it gets an id of its own (`id@generation`)
 * so that no workload is both pending and running.
 */
async function runningWorkloads(db: Db, placed: SchedulingWorkloadRow[], active: ReplicaRow[], planes: boolean): Promise<RunningWorkload[]> {
  const byWorkload = new Map<string, ReplicaRow[]>();
  for (const r of active) byWorkload.set(r.workload_id, [...(byWorkload.get(r.workload_id) ?? []), r]);
  const placedIds = new Set(placed.map((w) => w.id));
  const running: RunningWorkload[] = [];
  const leftovers: ReplicaRow[] = [];
  for (const w of placed) {
    const replicas = (byWorkload.get(w.id) ?? []).sort((a, b) => a.replica_index - b.replica_index);
    const current = replicas.filter((r) => r.generation === w.generation);
    leftovers.push(...replicas.filter((r) => r.generation !== w.generation));
    running.push(
      runningOf(w, {
        id: w.id,
        preemptible: w.preemptible,
        replicas: w.replicas,
        startedAt: (w.started_at ?? w.admitted_at ?? w.created_at).getTime(),
        allocations: current.map(allocationOf),
        releasing: w.state === 'preempted' || current.some((r) => r.desired === 'stop'),
        releasingFor: w.state === 'preempted' ? w.preempted_for : null,
      }, planes),
    );
  }
  for (const [id, replicas] of byWorkload) if (!placedIds.has(id)) leftovers.push(...replicas);
  if (leftovers.length === 0) return running;
  const owners = new Map((await getSchedulingRows(db, [...new Set(leftovers.map((r) => r.workload_id))])).map((w) => [w.id, w]));
  const groups = new Map<string, ReplicaRow[]>();
  for (const r of leftovers) groups.set(`${r.workload_id}@${r.generation}`, [...(groups.get(`${r.workload_id}@${r.generation}`) ?? []), r]);
  for (const [key, replicas] of groups) {
    const owner = owners.get(replicas[0]!.workload_id);
    if (!owner) continue;
    running.push(
      runningOf(owner, {
        id: owner.state === 'pending' || placedIds.has(owner.id) ? key : owner.id,
        // Never a preemption victim: it is already on its way out.
        preemptible: false,
        replicas: replicas.length,
        startedAt: Math.min(...replicas.map((r) => (r.started_at ?? r.created_at).getTime())),
        allocations: replicas.map(allocationOf),
        releasing: true,
        releasingFor: owner.preempted_for,
      }, planes),
    );
  }
  return running;
}

export function allocationOf(r: ReplicaRow): ReplicaAllocation {
  return {
    nodeId: r.node_id,
    gpuIndices: r.gpu_indices,
    gpuFraction: r.gpu_fraction,
    gpuModel: r.gpu_model,
    cpus: r.cpus,
    memoryMiB: r.memory_mib,
  };
}

/**
 * The applier's re-check of a placement: the agents' label is the snapshot's alone, so only the
 * cluster requirement (a stored label) is checked again here.
 */
export function workloadBase(w: SchedulingWorkloadRow): WorkloadBase {
  return workloadOf(w, w.id, w.preemptible, w.replicas, false);
}

function runningOf(
  w: SchedulingWorkloadRow,
  fields: { id: string; preemptible: boolean; replicas: number } & RunningFields,
  planes: boolean,
): RunningWorkload {
  return runningWorkload(workloadOf(w, fields.id, fields.preemptible, fields.replicas, planes), fields);
}

/**
 * A workload kept to one cluster requires that cluster's label as its topology domain (every
 * machine of a cluster carries it). When clusters are present, what only an agent can run (a
 * share of a GPU, a service replica with its port and probe) requires the agents' label instead.
 */
function placementTopology(w: SchedulingWorkloadRow, planes: boolean): WorkloadBase['topology'] {
  if (w.cluster !== null) return { required: clusterLabel(w.cluster), preferred: w.topology_preferred };
  const agentOnly = w.gpu_fraction !== null || w.gpu_memory_mib !== null || w.kind === 'service';
  if (planes && agentOnly && w.topology_required === null) return { required: agentPlaneLabel, preferred: w.topology_preferred };
  return { required: w.topology_required, preferred: w.topology_preferred };
}

function workloadOf(w: SchedulingWorkloadRow, id: string, preemptible: boolean, replicas: number, planes: boolean): WorkloadBase {
  return {
    id,
    name: w.name,
    queueId: w.queue_id,
    priority: w.priority,
    preemptible,
    replicas,
    request: { gpus: w.gpus, gpuFraction: w.gpu_fraction, gpuMemoryMiB: w.gpu_memory_mib, cpus: w.cpus, memoryMiB: w.memory_mib },
    gpuModels: w.gpu_models ?? (w.gpu_model !== null ? [w.gpu_model] : null),
    topology: placementTopology(w, planes),
    timeLimitMs: w.time_limit_seconds === null ? null : w.time_limit_seconds * 1000,
    submittedAt: w.created_at.getTime(),
  };
}
