import { ApiError } from '../../core/errors.js';
import { newId, idPrefixes } from '../../core/ids.js';
import { resolveServiceReplicaRequest, type ServiceSpec } from '../../core/service-types.js';
import { insertWorkload, updateWorkloadAt } from '../../store/workloads-repo.js';
import { listServiceWorkloads } from '../../store/services-repo.js';
import type { NewEvent } from '../../store/events-repo.js';
import type { Db } from '../../store/db.js';
import type { ServiceRow, WorkloadRow, WorkloadSpecJson } from '../../store/schema.js';
import { stopWorkloadReplicas } from './replica-lifecycle.js';
import { pendingWorkloadRow } from './workload-rows.js';

/**
 * A service's slots (one workload each, `<service>.<index>`) kept in line with what it wants: a
 * count of replicas per version, two versions during a rollout. Extra slots are retired — drained
 * (out of the routing table at once, stopped once their in-flight requests are done, by the
 * serving loop) or stopped at once — and missing ones are created at the lowest free indices.
 */
export interface SlotWant {
  version: string;
  spec: ServiceSpec;
  count: number;
}

/** What a service wants now: its version at its count, or during a rollout the stable and the new version. */
export function serviceWants(row: ServiceRow): SlotWant[] {
  const spec = row.spec as ServiceSpec;
  const rollout = row.rollout;
  if (rollout?.phase !== 'progressing') return [{ version: row.model_version, spec, count: row.replicas }];
  const canary = rollout.strategy === 'blue-green' || rollout.promoteRequestedBy ? row.replicas : Math.max(1, Math.ceil((row.replicas * rollout.weight) / 100));
  return [
    { version: rollout.stableVersion, spec: rollout.stableSpec as ServiceSpec, count: row.replicas },
    { version: rollout.canaryVersion, spec, count: canary },
  ];
}

/** The version a slot runs. */
export function slotVersion(w: WorkloadRow): string {
  return (w.spec as WorkloadSpecJson).service?.version ?? '';
}

export type Retire = 'drain' | 'stop';

/**
 * Brings the slots in line with `wants`; returns the nodes whose agents must hear of stopped
 * replicas. A slot that is not running yet is stopped rather than drained: it has nothing in flight.
 */
export async function reconcileSlots(tx: Db, service: ServiceRow, wants: SlotWant[], retire: Retire, why: string, now: Date, events: NewEvent[]): Promise<string[]> {
  const slots = await listServiceWorkloads(tx, [service.id]);
  const active = slots.filter((w) => w.draining_since === null);
  const used = new Set(slots.map((w) => w.service_index ?? 0));
  const toRetire: WorkloadRow[] = active.filter((w) => !wants.some((want) => want.version === slotVersion(w)));
  for (const want of wants) {
    const mine = active.filter((w) => slotVersion(w) === want.version).sort((a, b) => (a.service_index ?? 0) - (b.service_index ?? 0));
    toRetire.push(...mine.slice(want.count));
    let index = 0;
    for (let missing = want.count - mine.length; missing > 0; missing--) {
      while (used.has(index)) index++;
      used.add(index);
      const row = await insertWorkload(tx, slotRow(service, want.spec, index));
      events.push({ actor: 'system', kind: 'workload.submitted', targetKind: 'workload', targetId: row.id, message: `${row.name} created for service ${service.name} (${want.version})` });
    }
  }
  const nodeIds: string[] = [];
  for (const w of toRetire) {
    if (retire === 'drain' && w.state === 'running') {
      const done = await updateWorkloadAt(tx, w.id, w.version, { draining_since: now, reason: `draining: ${why}` });
      if (!done) throw new ApiError('version_conflict', `replica ${w.name} changed meanwhile; try again`);
    } else nodeIds.push(...(await stopSlots(tx, [w], why, now)));
  }
  return nodeIds;
}

/** Cancels slots; their processes get SIGTERM, then SIGKILL. Returns the nodes to wake. */
export async function stopSlots(tx: Db, slots: WorkloadRow[], why: string, now: Date): Promise<string[]> {
  const nodeIds: string[] = [];
  for (const w of slots) {
    const done = await updateWorkloadAt(tx, w.id, w.version, { state: 'cancelled', reason: why, finished_at: now });
    if (!done) throw new ApiError('version_conflict', `replica ${w.name} changed meanwhile; try again`);
    nodeIds.push(...(await stopWorkloadReplicas(tx, w.id)));
  }
  return nodeIds;
}

function slotRow(service: ServiceRow, spec: ServiceSpec, index: number) {
  return pendingWorkloadRow({
    id: newId(idPrefixes.workload),
    name: `${service.name}.${index}`,
    teamId: service.team_id,
    queueId: service.queue_id,
    request: resolveServiceReplicaRequest(spec),
    spec: {
      command: spec.command,
      env: spec.env,
      workdir: spec.workdir ?? null,
      gracePeriodSeconds: spec.gracePeriodSeconds,
      service: { model: spec.model, version: spec.version, port: spec.port === 'auto' ? null : spec.port, readinessPath: spec.readiness.path },
    },
    service: { id: service.id, index },
  });
}
