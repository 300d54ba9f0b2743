import type { ResolvedJobRequest } from '../../core/api-types.js';
import type { NewWorkload, WorkloadSpecJson } from '../../store/schema.js';

/** A new pending workload's row: a submitted job, or one replica of a service. */
export function pendingWorkloadRow(w: {
  id: string;
  name: string;
  teamId: string;
  queueId: string;
  request: ResolvedJobRequest;
  spec: WorkloadSpecJson;
  service?: { id: string; index: number };
}): NewWorkload {
  const req = w.request;
  return {
    id: w.id,
    name: w.name,
    team_id: w.teamId,
    queue_id: w.queueId,
    kind: w.service ? 'service' : 'job',
    service_id: w.service?.id ?? null,
    service_index: w.service?.index ?? null,
    state: 'pending',
    reason: 'waiting for the scheduler',
    priority: req.priority,
    gpus: req.gpus,
    gpu_model: req.gpuModels?.length === 1 ? req.gpuModels[0]! : null,
    gpu_models: req.gpuModels === null ? null : JSON.stringify(req.gpuModels),
    gpu_fraction: req.gpuFraction,
    gpu_memory_mib: req.gpuMemoryMiB,
    cpus: req.cpus,
    memory_mib: req.memoryMiB,
    replicas: req.replicas,
    priority_class: req.priorityClass,
    preemptible: req.preemptible,
    topology_required: req.topology.required,
    topology_preferred: req.topology.preferred,
    time_limit_seconds: req.timeLimitSeconds,
    cluster: req.cluster,
    reasons: JSON.stringify(['waiting for the scheduler']),
    spec: JSON.stringify(w.spec),
    exit_code: null,
    admitted_at: null,
    started_at: null,
    finished_at: null,
  };
}
