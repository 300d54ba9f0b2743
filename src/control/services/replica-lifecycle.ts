import type { ReplicaReport } from '../../core/agent-protocol.js';
import { canTransitionReplica, isActiveReplicaState } from '../../core/replica-state.js';
import { canTransitionWorkload, type WorkloadState } from '../../core/workload-state.js';
import { getReplicas, listActiveReplicas, listReplicasOfWorkloads, updateReplicaAt } from '../../store/replicas-repo.js';
import { getWorkload, updateWorkloadAt } from '../../store/workloads-repo.js';
import { bumpAssignmentRevision } from '../../store/nodes-repo.js';
import { insertEvents, type NewEvent } from '../../store/events-repo.js';
import type { Db } from '../../store/db.js';
import type { ReplicaRow, WorkloadRow } from '../../store/schema.js';
import { restartServiceReplica } from './service-restarts.js';

export interface LifecycleOutcome {
  /** Workloads that reached a final state, with it. */
  finished: Array<{ id: string; state: WorkloadState }>;
  requeued: string[];
  /** Preempted workloads whose replicas have all ended, back to pending. */
  preemptionsDone: string[];
  /** Resources were released: the scheduler should run. */
  freed: boolean;
  /** Nodes whose assignments changed (replicas told to stop): their agents should hear now. */
  nodeIds: string[];
}

const emptyOutcome = (): LifecycleOutcome => ({ finished: [], requeued: [], preemptionsDone: [], freed: false, nodeIds: [] });

/**
 * The workload state a replica's report implies. A workload is a gang: it runs when every replica
 * of its generation runs (or has already succeeded), succeeds when all have succeeded, and fails
 * as soon as one fails or stops unasked. Reports about a workload that is no longer meant to run
 * (pending again, preempted, cancelled) never change its state.
 */
function workloadStateAfter(report: ReplicaReport, workload: WorkloadRow, gang: ReplicaRow[]): WorkloadState | null {
  if (workload.state !== 'admitted' && workload.state !== 'running') return null;
  switch (report.state) {
    case 'running':
      return workload.state === 'admitted' && gang.every((r) => r.state === 'running' || r.state === 'succeeded') ? 'running' : null;
    case 'succeeded':
      if (gang.every((r) => r.state === 'succeeded')) return 'succeeded';
      return workload.state === 'admitted' && gang.every((r) => r.state === 'running' || r.state === 'succeeded') ? 'running' : null;
    case 'failed':
    case 'stopped':
    case 'lost':
      // Stopped without being asked (the workload is still meant to run): a failure of the gang.
      return 'failed';
    default:
      return null;
  }
}

/**
 * Applies what an agent says about its replicas. Reports are idempotent: one that repeats what the
 * server already knows changes nothing, and one about a stale generation never touches the
 * workload (its newer replicas own the workload's state).
 */
export async function applyReplicaReports(tx: Db, nodeId: string, reports: ReplicaReport[], now: Date): Promise<LifecycleOutcome> {
  const outcome = emptyOutcome();
  const replicas = new Map((await getReplicas(tx, reports.map((r) => r.replicaId))).map((r) => [r.id, r]));
  const events: NewEvent[] = [];
  for (const report of reports) {
    const replica = replicas.get(report.replicaId);
    if (!replica || replica.node_id !== nodeId || replica.generation !== report.generation) continue;
    const serving = servingPatch(replica, report);
    if (replica.state === report.state || !canTransitionReplica(replica.state, report.state)) {
      if (serving) await updateReplicaAt(tx, replica.id, replica.version, serving);
      continue;
    }
    const final = !isActiveReplicaState(report.state);
    // A process may start and end between two reports; then the server first hears of it at its end.
    const startedNow = replica.started_at === null && (report.state === 'running' || report.state === 'succeeded' || report.state === 'failed');
    const updated = await updateReplicaAt(tx, replica.id, replica.version, {
      state: report.state,
      exit_code: report.exitCode,
      message: report.message,
      ...serving,
      ...(startedNow ? { started_at: now } : {}),
      ...(final ? { finished_at: now } : {}),
    });
    if (!updated) continue;
    if (final) outcome.freed = true;
    const workload = await getWorkload(tx, replica.workload_id);
    if (!workload) continue;
    if (workload.state === 'preempted') {
      if (final && (await requeuePreemptedIfReleased(tx, workload, events))) outcome.preemptionsDone.push(workload.id);
      continue;
    }
    if (workload.generation !== replica.generation) continue;
    const gang = (await listReplicasOfWorkloads(tx, [workload.id])).filter((r) => r.generation === workload.generation);
    const next = workloadStateAfter(report, workload, gang);
    if (next === null || !canTransitionWorkload(workload.state, next)) continue;
    if (workload.kind === 'service' && next !== 'running') {
      const restarted = await restartServiceReplica(tx, workload, updated, report, now);
      if (restarted) events.push({ actor: `node:${nodeId}`, kind: 'workload.restarting', targetKind: 'workload', targetId: workload.id, message: `${workload.name} ${restarted.reason}` });
      continue;
    }
    const what = gang.length > 1 ? `replica ${replica.replica_index} ` : '';
    const reason =
      next === 'running' || next === 'succeeded'
        ? null
        : what + (report.message ?? (report.exitCode !== null ? `exited with code ${report.exitCode}` : `replica ${report.state}`));
    const changed = await updateWorkloadAt(tx, workload.id, workload.version, {
      state: next,
      reason,
      ...(workload.started_at === null && (next === 'running' || startedNow) ? { started_at: now } : {}),
      ...(next === 'running' ? {} : { finished_at: now, exit_code: report.exitCode }),
    });
    if (!changed) continue;
    // One replica failed: the rest of the gang cannot go on alone.
    if (next === 'failed') outcome.nodeIds.push(...(await stopWorkloadReplicas(tx, workload.id)));
    if (next !== 'running') outcome.finished.push({ id: workload.id, state: next });
    events.push({
      actor: `node:${nodeId}`,
      kind: `workload.${next}`,
      targetKind: 'workload',
      targetId: workload.id,
      message: next === 'running' ? `${workload.name} running` : `${workload.name} ${next}${reason ? `: ${reason}` : ''}`,
    });
  }
  await insertEvents(tx, events);
  return outcome;
}

/** What a report changes of where a service replica listens and whether it is ready; null when nothing. */
function servingPatch(replica: ReplicaRow, report: ReplicaReport): { endpoint: string | null; ready: boolean } | null {
  if (report.endpoint === undefined) return null;
  const ready = report.state === 'running' && report.ready === true;
  return report.endpoint === replica.endpoint && ready === replica.ready ? null : { endpoint: report.endpoint, ready };
}

/**
 * Tells every active replica of a workload to stop (the agent sends SIGTERM, then SIGKILL after the
 * grace period); returns their nodes, whose assignment revision is bumped so the agents hear now.
 */
export async function stopWorkloadReplicas(tx: Db, workloadId: string): Promise<string[]> {
  const active = (await listReplicasOfWorkloads(tx, [workloadId])).filter((r) => isActiveReplicaState(r.state) && r.desired !== 'stop');
  for (const r of active) await updateReplicaAt(tx, r.id, r.version, { desired: 'stop', state: r.state === 'assigned' ? 'assigned' : 'stopping' });
  const nodeIds = [...new Set(active.map((r) => r.node_id))];
  await bumpAssignmentRevision(tx, nodeIds);
  return nodeIds;
}

/**
 * A preempted workload goes back to pending once none of its replicas holds anything any more:
 * a new generation (fencing any late report of the old one), its attempts kept.
 */
export async function requeuePreemptedIfReleased(tx: Db, workload: WorkloadRow, events: NewEvent[]): Promise<boolean> {
  if (workload.state !== 'preempted') return false;
  const replicas = await listReplicasOfWorkloads(tx, [workload.id]);
  if (replicas.some((r) => isActiveReplicaState(r.state))) return false;
  const requeued = await updateWorkloadAt(tx, workload.id, workload.version, {
    state: 'pending',
    reason: `requeued after ${workload.reason ?? 'preemption'}`,
    reasons: JSON.stringify([`requeued after ${workload.reason ?? 'preemption'}`]),
    generation: workload.generation + 1,
    admitted_at: null,
    started_at: null,
  });
  if (!requeued) return false;
  events.push({ actor: 'system', kind: 'workload.requeued', targetKind: 'workload', targetId: workload.id, message: `${workload.name} requeued after preemption` });
  return true;
}

/** Requeues every preempted workload whose replicas have all ended (a safety net for missed reports). */
export async function requeueReleasedPreemptions(tx: Db): Promise<string[]> {
  const preempted = await tx.selectFrom('workloads').selectAll().where('state', '=', 'preempted').execute();
  const events: NewEvent[] = [];
  const done: string[] = [];
  for (const w of preempted) if (await requeuePreemptedIfReleased(tx, w, events)) done.push(w.id);
  await insertEvents(tx, events);
  return done;
}

/**
 * A node is gone (lost, or re-registered without its old state): its replicas will never report
 * again. They are marked lost, and their workloads go back to pending; the rest of each gang is
 * told to stop; the next admission bumps the generation, which fences any copy the node might
 * still be running.
 */
export async function loseReplicasOfNode(tx: Db, nodeId: string, why: string, now: Date): Promise<LifecycleOutcome> {
  // All of them first: stopping a gang's other replicas below must not race these updates.
  return loseReplicas(tx, await listActiveReplicas(tx, nodeId), why, now);
}

/**
 * Replicas their plane no longer runs as asked (a node gone, a job a cluster requeued or forgot):
 * marked lost with why, their workloads back to pending as for a lost node.
 */
export async function loseReplicas(tx: Db, replicas: ReplicaRow[], why: string, now: Date): Promise<LifecycleOutcome> {
  const outcome = emptyOutcome();
  const events: NewEvent[] = [];
  const lost: ReplicaRow[] = [];
  for (const replica of replicas) {
    const updated = await updateReplicaAt(tx, replica.id, replica.version, { state: 'lost', message: why, finished_at: now });
    if (updated) lost.push(updated);
  }
  if (lost.length > 0) outcome.freed = true;
  for (const replica of lost) {
    const workload = await getWorkload(tx, replica.workload_id);
    if (workload?.state === 'preempted') {
      if (await requeuePreemptedIfReleased(tx, workload, events)) outcome.preemptionsDone.push(workload.id);
      continue;
    }
    const requeued = await requeueIfCurrent(tx, replica, why);
    if (requeued) {
      outcome.requeued.push(requeued.id);
      outcome.nodeIds.push(...(await stopWorkloadReplicas(tx, requeued.id)).filter((n) => n !== replica.node_id));
      events.push({ actor: 'system', kind: 'workload.requeued', targetKind: 'workload', targetId: requeued.id, message: `${requeued.name} requeued: ${why}` });
    }
  }
  await insertEvents(tx, events);
  return outcome;
}

async function requeueIfCurrent(tx: Db, replica: ReplicaRow, why: string): Promise<WorkloadRow | undefined> {
  const workload = await getWorkload(tx, replica.workload_id);
  if (!workload || workload.generation !== replica.generation || !canTransitionWorkload(workload.state, 'pending')) return undefined;
  return updateWorkloadAt(tx, workload.id, workload.version, {
    state: 'pending',
    reason: `requeued: ${why}`,
    reasons: JSON.stringify([`requeued: ${why}`]),
    admitted_at: null,
    started_at: null,
  });
}
