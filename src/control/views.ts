import type { Team, Queue, Workload, Node } from '../core/api-types.js';
import type { GpuRow, NodeRow, QueueRow, ReplicaRow, TeamRow, WorkloadRow } from '../store/schema.js';

/** Rows to API objects: the one place that knows both shapes. */

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function teamView(row: TeamRow): Team {
  return { id: row.id, name: row.name, version: row.version, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

export function queueView(row: QueueRow, teamName: string, usage: Record<string, number>): Queue {
  return {
    id: row.id,
    name: row.name,
    team: teamName,
    priority: row.priority,
    quotas: row.quotas,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    usage,
  };
}

export function workloadView(
  row: WorkloadRow,
  names: { team: string; queue: string },
  replica: ReplicaRow | undefined,
  nodeName: string | undefined,
): Workload {
  return {
    id: row.id,
    name: row.name,
    team: names.team,
    queue: names.queue,
    kind: 'job',
    state: row.state,
    reason: row.reason,
    gpus: row.gpus,
    gpuModel: row.gpu_model,
    priority: row.priority,
    command: row.spec.command,
    env: row.spec.env,
    workdir: row.spec.workdir,
    gracePeriodSeconds: row.spec.gracePeriodSeconds,
    generation: row.generation,
    attempts: row.attempts,
    exitCode: row.exit_code,
    node: replica ? (nodeName ?? replica.node_id) : null,
    gpuIndices: replica ? replica.gpu_indices : [],
    version: row.version,
    createdAt: row.created_at.toISOString(),
    admittedAt: iso(row.admitted_at),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}

export function nodeView(row: NodeRow, gpus: GpuRow[], allocatedTo: Map<number, string>): Node {
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    simulated: row.simulated,
    labels: row.labels,
    gpus: gpus.map((g) => ({ index: g.idx, uuid: g.uuid, model: g.model, memoryMiB: g.memory_mib, allocatedTo: allocatedTo.get(g.idx) ?? null })),
    cpus: row.cpus,
    memoryMiB: Number(row.memory_mib),
    lastHeartbeatAt: iso(row.last_heartbeat_at),
    agentVersion: row.agent_version,
    version: row.version,
    createdAt: row.created_at.toISOString(),
  };
}
