import type { Team, Queue, Workload, Node, PriorityClass } from '../core/api-types.js';
import type { Cluster } from '../core/cluster-types.js';
import type { ClusterRow, GpuRow, NodeRow, QueueRow, ReplicaRow, TeamRow, WorkloadRow } from '../store/schema.js';

/** Rows to API objects: the one place that knows both shapes. */

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function teamView(row: TeamRow): Team {
  return { id: row.id, name: row.name, version: row.version, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

export function queueView(row: QueueRow, teamName: string, parentName: string | null, usage: Record<string, number>): Queue {
  return {
    id: row.id,
    name: row.name,
    team: teamName,
    parent: parentName,
    priority: row.priority,
    quotas: row.quotas,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    usage,
  };
}

/** `replicas` are those of the workload's current generation; `nodeNames` maps node ids to names. */
export function workloadView(
  row: WorkloadRow,
  names: { team: string; queue: string },
  replicas: ReplicaRow[],
  nodeNames: ReadonlyMap<string, string>,
): Workload {
  const sorted = [...replicas].sort((a, b) => a.replica_index - b.replica_index);
  const first = sorted[0];
  const models = row.gpu_models ?? (row.gpu_model !== null ? [row.gpu_model] : null);
  return {
    id: row.id,
    name: row.name,
    team: names.team,
    queue: names.queue,
    kind: row.kind === 'service' ? 'service' : 'job',
    state: row.state,
    reason: row.reason,
    reasons: row.reasons.length > 0 ? row.reasons : row.reason !== null ? [row.reason] : [],
    gpus: row.gpu_fraction ?? row.gpus,
    gpuMemoryMiB: row.gpu_memory_mib,
    gpuModel: models !== null && models.length === 1 ? models[0]! : null,
    gpuModels: models,
    cpus: row.cpus,
    memoryMiB: row.memory_mib,
    replicas: row.replicas,
    priorityClass: row.priority_class as PriorityClass | null,
    priority: row.priority,
    preemptible: row.preemptible,
    topology: { required: row.topology_required, preferred: row.topology_preferred },
    timeLimitSeconds: row.time_limit_seconds,
    cluster: row.cluster,
    command: row.spec.command,
    env: row.spec.env,
    workdir: row.spec.workdir,
    gracePeriodSeconds: row.spec.gracePeriodSeconds,
    generation: row.generation,
    attempts: row.attempts,
    exitCode: row.exit_code,
    node: first ? (nodeNames.get(first.node_id) ?? first.node_id) : null,
    gpuIndices: first ? first.gpu_indices : [],
    replicaStatus: sorted.map((r) => ({
      index: r.replica_index,
      node: nodeNames.get(r.node_id) ?? r.node_id,
      state: r.state,
      gpuIndices: r.gpu_indices,
      gpuFraction: r.gpu_fraction,
    })),
    version: row.version,
    createdAt: row.created_at.toISOString(),
    admittedAt: iso(row.admitted_at),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}

export function nodeView(row: NodeRow, gpus: GpuRow[], allocatedTo: Map<number, string>, plane: string): Node {
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    simulated: row.simulated,
    labels: row.labels,
    plane,
    gpus: gpus.map((g) => ({ index: g.idx, uuid: g.uuid, model: g.model, memoryMiB: g.memory_mib, allocatedTo: allocatedTo.get(g.idx) ?? null })),
    cpus: row.cpus,
    memoryMiB: Number(row.memory_mib),
    lastHeartbeatAt: iso(row.last_heartbeat_at),
    agentVersion: row.agent_version,
    version: row.version,
    createdAt: row.created_at.toISOString(),
  };
}

export function clusterView(row: ClusterRow, nodes: number, gpus: number): Cluster {
  return {
    id: row.id,
    name: row.name,
    spec: row.spec,
    status: row.status,
    message: row.message,
    syncedAt: iso(row.synced_at),
    nodes,
    gpus,
    version: row.version,
    createdAt: row.created_at.toISOString(),
  };
}
