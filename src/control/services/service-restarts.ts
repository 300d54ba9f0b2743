import type { ReplicaReport } from '../../core/agent-protocol.js';
import { updateWorkloadAt } from '../../store/workloads-repo.js';
import type { Db } from '../../store/db.js';
import type { ReplicaRow, WorkloadRow } from '../../store/schema.js';

/** The first restart waits this long; each consecutive one doubles it, up to the cap. */
export const restartBackoffBaseMs = 1000;
export const restartBackoffCapMs = 60_000;
/** A replica that ran this long before it ended starts its backoff afresh. */
export const restartBackoffResetMs = 60_000;

/** The wait before a replica that ended for the `consecutive`-th time in a row is placed again. */
export function restartDelayMs(consecutive: number): number {
  return Math.min(restartBackoffCapMs, restartBackoffBaseMs * 2 ** Math.min(Math.max(consecutive - 1, 0), 16));
}

/**
 * A service never completes: one of its replicas that ended (whatever its exit status) goes back
 * to pending, to be placed again once its backoff has passed. The next admission bumps the
 * generation, so a late report of the ended copy changes nothing.
 */
export async function restartServiceReplica(tx: Db, workload: WorkloadRow, replica: ReplicaRow, report: ReplicaReport, now: Date): Promise<WorkloadRow | undefined> {
  const ranFor = replica.started_at === null ? 0 : now.getTime() - replica.started_at.getTime();
  const consecutive = (ranFor >= restartBackoffResetMs ? 0 : workload.restarts) + 1;
  const delay = restartDelayMs(consecutive);
  const how = report.message ?? (report.exitCode !== null ? `exited with code ${report.exitCode}` : `replica ${report.state}`);
  const reason = `restarting in ${delay / 1000} s: ${how} (${consecutive} in a row)`;
  return updateWorkloadAt(tx, workload.id, workload.version, {
    state: 'pending',
    reason,
    reasons: JSON.stringify([reason]),
    restarts: consecutive,
    restart_at: new Date(now.getTime() + delay),
    exit_code: report.exitCode,
    admitted_at: null,
    started_at: null,
  });
}
