import type { ReplicaReport } from '../../core/agent-protocol.js';
import { canTransitionReplica, isActiveReplicaState } from '../../core/replica-state.js';
import { canTransitionWorkload, type WorkloadState } from '../../core/workload-state.js';
import { getReplicas, listActiveReplicas, updateReplicaAt } from '../../store/replicas-repo.js';
import { getWorkload, updateWorkloadAt } from '../../store/workloads-repo.js';
import { insertEvents, type NewEvent } from '../../store/events-repo.js';
import type { Db } from '../../store/db.js';
import type { ReplicaRow, WorkloadRow } from '../../store/schema.js';

export interface LifecycleOutcome {
  /** Workloads that reached a final state, with it. */
  finished: Array<{ id: string; state: WorkloadState }>;
  requeued: string[];
  /** GPUs were released: the scheduler should run. */
  freed: boolean;
}

const emptyOutcome = (): LifecycleOutcome => ({ finished: [], requeued: [], freed: false });

/** The workload state a replica's final report implies, for the replica of the workload's current generation. */
function workloadStateAfter(report: ReplicaReport, workload: WorkloadRow): WorkloadState | null {
  switch (report.state) {
    case 'running':
      return workload.state === 'admitted' ? 'running' : null;
    case 'succeeded':
      return 'succeeded';
    case 'failed':
      return 'failed';
    case 'stopped':
    case 'lost':
      // Stopped without being asked (the workload is still meant to run): count it as a failure.
      return workload.state === 'admitted' || workload.state === 'running' ? 'failed' : null;
    default:
      return null;
  }
}

/**
 * Applies what an agent says about its replicas. Reports are idempotent: one that repeats what the
 * server already knows changes nothing, and one about a stale generation never touches the
 * workload (its newer replica owns the workload's state).
 */
export async function applyReplicaReports(tx: Db, nodeId: string, reports: ReplicaReport[], now: Date): Promise<LifecycleOutcome> {
  const outcome = emptyOutcome();
  const replicas = new Map((await getReplicas(tx, reports.map((r) => r.replicaId))).map((r) => [r.id, r]));
  const events: NewEvent[] = [];
  for (const report of reports) {
    const replica = replicas.get(report.replicaId);
    if (!replica || replica.node_id !== nodeId || replica.generation !== report.generation) continue;
    if (replica.state === report.state || !canTransitionReplica(replica.state, report.state)) continue;
    const final = !isActiveReplicaState(report.state);
    // A process may start and end between two reports; then the server first hears of it at its end.
    const startedNow = replica.started_at === null && (report.state === 'running' || report.state === 'succeeded' || report.state === 'failed');
    const updated = await updateReplicaAt(tx, replica.id, replica.version, {
      state: report.state,
      exit_code: report.exitCode,
      message: report.message,
      ...(startedNow ? { started_at: now } : {}),
      ...(final ? { finished_at: now } : {}),
    });
    if (!updated) continue;
    if (final) outcome.freed = true;
    const workload = await getWorkload(tx, replica.workload_id);
    if (!workload || workload.generation !== replica.generation) continue;
    const next = workloadStateAfter(report, workload);
    if (next === null || !canTransitionWorkload(workload.state, next)) continue;
    const reason =
      next === 'running'
        ? null
        : next === 'succeeded'
          ? null
          : (report.message ?? (report.exitCode !== null ? `exited with code ${report.exitCode}` : `replica ${report.state}`));
    const changed = await updateWorkloadAt(tx, workload.id, workload.version, {
      state: next,
      reason,
      ...(workload.started_at === null && startedNow ? { started_at: now } : {}),
      ...(next === 'running' ? {} : { finished_at: now, exit_code: report.exitCode }),
    });
    if (!changed) continue;
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

/**
 * A node is gone (lost, or re-registered without its old state): its replicas will never report
 * again. They are marked lost, and their workloads go back to pending; the next admission bumps
 * the generation, which fences any copy the node might still be running.
 */
export async function loseReplicasOfNode(tx: Db, nodeId: string, why: string, now: Date): Promise<LifecycleOutcome> {
  const outcome = emptyOutcome();
  const events: NewEvent[] = [];
  for (const replica of await listActiveReplicas(tx, nodeId)) {
    await updateReplicaAt(tx, replica.id, replica.version, { state: 'lost', message: why, finished_at: now });
    outcome.freed = true;
    const requeued = await requeueIfCurrent(tx, replica, why);
    if (requeued) {
      outcome.requeued.push(requeued.id);
      events.push({ actor: 'system', kind: 'workload.requeued', targetKind: 'workload', targetId: requeued.id, message: `${requeued.name} requeued: ${why}` });
    }
  }
  await insertEvents(tx, events);
  return outcome;
}

async function requeueIfCurrent(tx: Db, replica: ReplicaRow, why: string): Promise<WorkloadRow | undefined> {
  const workload = await getWorkload(tx, replica.workload_id);
  if (!workload || workload.generation !== replica.generation || !canTransitionWorkload(workload.state, 'pending')) return undefined;
  return updateWorkloadAt(tx, workload.id, workload.version, { state: 'pending', reason: `requeued: ${why}`, admitted_at: null, started_at: null });
}
