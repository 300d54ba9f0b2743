import type { PendingWorkload, ReplicaAllocation, RunningWorkload, WorkloadBase } from './types.js';

/**
 * Workloads built as one object literal each, always with the same keys in the same order. The
 * scheduler reads every workload every cycle; objects built by spreading, or in varying shapes,
 * made a cycle's set-up twice as slow.
 */
export function pendingWorkload(w: WorkloadBase, claimedAt: number | null): PendingWorkload {
  return {
    id: w.id,
    name: w.name,
    queueId: w.queueId,
    priority: w.priority,
    preemptible: w.preemptible,
    replicas: w.replicas,
    request: w.request,
    gpuModels: w.gpuModels,
    topology: w.topology,
    timeLimitMs: w.timeLimitMs,
    submittedAt: w.submittedAt,
    claimedAt,
  };
}

export interface RunningFields {
  startedAt: number;
  allocations: ReplicaAllocation[];
  releasing: boolean;
  releasingFor: string | null;
}

export function runningWorkload(w: WorkloadBase, fields: RunningFields): RunningWorkload {
  return {
    id: w.id,
    name: w.name,
    queueId: w.queueId,
    priority: w.priority,
    preemptible: w.preemptible,
    replicas: w.replicas,
    request: w.request,
    gpuModels: w.gpuModels,
    topology: w.topology,
    timeLimitMs: w.timeLimitMs,
    submittedAt: w.submittedAt,
    startedAt: fields.startedAt,
    allocations: fields.allocations,
    releasing: fields.releasing,
    releasingFor: fields.releasingFor,
  };
}
