import { isActiveReplicaState } from '../../core/replica-state.js';
import type { ReplicaReport } from '../../core/agent-protocol.js';
import { idempotencyKey, launchRequest, type Executor, type ExecutorReplicaStatus, type LogStream } from '../../executors/spi.js';
import {
  addJobCancels,
  listClusterReplicas,
  listJobCancels,
  recordExternalId,
  removeJobCancel,
  storedLogBytes,
  type ClusterReplicaRow,
} from '../../store/clusters-repo.js';
import { insertLogChunks } from '../../store/logs-repo.js';
import { getReplicas } from '../../store/replicas-repo.js';
import { inTransaction } from '../../store/transaction.js';
import type { Db } from '../../store/db.js';
import type { ClusterRow } from '../../store/schema.js';
import type { Logger } from '../../observe/logger.js';
import { applyReplicaReports, loseReplicas, type LifecycleOutcome } from '../services/replica-lifecycle.js';
import { planeGpuModel } from './cluster-inventory.js';
import { clusterFailure } from './cluster-executor.js';

export interface JobsPass {
  outcomes: LifecycleOutcome[];
  /** Jobs found lost: the plane's machines may have changed, so the inventory is synced next. */
  lost: number;
  /** Workloads whose output grew. */
  logsOf: string[];
}

/**
 * What the agent does for its node, done for a cluster's machines over the executor SPI: launch
 * what is assigned (idempotently, so a launch retried after an unanswered one finds its job),
 * stop what is told to stop, report each job's state as a replica report, and ship its output.
 * A replica's end is reported only once all of its output is stored. A job the plane requeued or
 * forgot is `lost`: its workload is admitted again under a new generation and the old job is cancelled.
 * Jobs still to cancel are kept in the database (cluster_job_cancels), so a restarted server cancels them too.
 */
export class ClusterJobs {
  // Stops in flight: a stop waits out the grace period, which must not hold up the pass.
  private readonly stopping = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly cluster: ClusterRow,
    private readonly executor: Executor,
    private readonly logger: Logger,
  ) {}

  async reconcile(now: () => Date): Promise<JobsPass> {
    const pass: JobsPass = { outcomes: [], lost: 0, logsOf: [] };
    const rows = await listClusterReplicas(this.db, this.cluster.id);
    for (const row of rows) {
      if (row.external_id !== null) continue;
      if (row.desired === 'run' && row.state === 'assigned') {
        const launched = await this.launch(row, now);
        if ('outcome' in launched) pass.outcomes.push(launched.outcome);
        else row.external_id = launched.externalId;
      } else if (row.desired === 'stop') {
        row.external_id = await this.executor.find(idempotencyKey(row.id, row.generation));
        if (row.external_id === null) pass.outcomes.push(await this.report(row, { state: 'stopped', exitCode: null, message: 'stopped before it was submitted' }, now()));
      }
      if (row.external_id !== null) await recordExternalId(this.db, row.id, row.external_id);
    }
    const launched = rows.filter((r): r is ClusterReplicaRow & { external_id: string } => r.external_id !== null);
    for (const row of launched) if (row.desired === 'stop') this.stop(row.external_id, row.spec.gracePeriodSeconds * 1000);
    if (launched.length === 0) {
      await this.cancelLeftovers();
      return pass;
    }
    const statuses = await this.executor.status(launched.map((r) => r.external_id));
    for (const row of launched) {
      const status = statuses.get(row.external_id);
      if (!status) continue;
      const shipped = await this.shipLogs(row);
      if (shipped.grew) pass.logsOf.push(row.workload_id);
      if (status.state === 'lost') {
        pass.outcomes.push(await this.lose(row, status, now()));
        pass.lost++;
      } else if (isActiveReplicaState(status.state) || shipped.done) {
        pass.outcomes.push(await this.report(row, status, now()));
      }
    }
    await this.cancelLeftovers();
    return pass;
  }

  /**
   * Cancels the jobs left to cancel (of lost replicas, of a deleted cluster); each leaves the list
   * once the plane has it ended, or has no job under its key. Returns how many are left.
   */
  async cancelLeftovers(): Promise<number> {
    let left = 0;
    for (const job of await listJobCancels(this.db, this.cluster.id)) {
      const externalId = job.external_id ?? (await this.executor.find(job.idempotency_key));
      if (externalId !== null) {
        try {
          await this.executor.stop(externalId, 0);
        } catch (err) {
          if (clusterFailure(err)?.status !== 'error') throw err;
          this.logger.warn({ cluster: this.cluster.name, job: externalId, err: String(err) }, 'cancelling a job failed; the next pass tries again');
          left++;
          continue;
        }
      }
      await removeJobCancel(this.db, this.cluster.id, job.idempotency_key);
    }
    return left;
  }

  /** A job the plane refuses (bad partition, too large) fails its replica; the plane being away fails the pass. */
  private async launch(row: ClusterReplicaRow, now: () => Date): Promise<{ externalId: string } | { outcome: LifecycleOutcome }> {
    try {
      return { externalId: await this.submit(row) };
    } catch (err) {
      if (clusterFailure(err)?.status !== 'error') throw err;
      const message = `the cluster refused the job: ${(err as Error).message}`;
      return { outcome: await this.report(row, { state: 'failed', exitCode: null, message }, now()) };
    }
  }

  private async submit(row: ClusterReplicaRow): Promise<string> {
    const handle = await this.executor.launch(
      launchRequest({
        replicaId: row.id,
        generation: row.generation,
        workloadName: row.workload_name,
        command: row.spec.command,
        env: row.spec.env,
        workdir: row.spec.workdir,
        gpus: { count: row.gpu_indices.length },
        gpuModel: planeGpuModel(this.cluster.spec, row.gpu_model),
        timeLimitSeconds: row.time_limit_seconds,
        node: row.external_name ?? undefined,
        cpus: row.cpus,
        memoryMiB: row.memory_mib,
      }),
    );
    this.logger.info({ cluster: this.cluster.name, replica: row.id, workload_id: row.workload_id, job: handle.externalId, created: handle.created }, handle.created ? 'submitted to the cluster' : 'found the job already submitted');
    return handle.externalId;
  }

  private stop(externalId: string, gracePeriodMs: number): void {
    if (this.stopping.has(externalId)) return;
    this.stopping.add(externalId);
    this.executor
      .stop(externalId, gracePeriodMs)
      .catch((err: unknown) => this.logger.warn({ cluster: this.cluster.name, job: externalId, err: String(err) }, 'stopping a job failed; the next pass tries again'))
      .finally(() => this.stopping.delete(externalId));
  }

  private report(row: ClusterReplicaRow, status: ExecutorReplicaStatus, now: Date): Promise<LifecycleOutcome> {
    const report: ReplicaReport = { replicaId: row.id, generation: row.generation, state: status.state, exitCode: status.exitCode, message: status.message };
    return inTransaction(this.db, (tx) => applyReplicaReports(tx, row.node_id, [report], now));
  }

  /** A requeued job may still be pending in the plane: it is listed to cancel, so the new generation is the only copy. */
  private lose(row: ClusterReplicaRow & { external_id: string }, status: ExecutorReplicaStatus, now: Date): Promise<LifecycleOutcome> {
    return inTransaction(this.db, async (tx) => {
      await addJobCancels(tx, this.cluster.id, [{ idempotencyKey: idempotencyKey(row.id, row.generation), externalId: row.external_id }]);
      return loseReplicas(tx, await getReplicas(tx, [row.id]), status.message ?? 'lost by the cluster', now);
    });
  }

  /** Stores what the job wrote since the last pass; `done` once it has ended and all of it is stored. */
  private async shipLogs(row: ClusterReplicaRow & { external_id: string }): Promise<{ grew: boolean; done: boolean }> {
    const stored = await storedLogBytes(this.db, row.id);
    let grew = false;
    let done = true;
    for (const stream of ['stdout', 'stderr'] as LogStream[]) {
      const read = await this.executor.logs(row.external_id, stream, stored[stream]);
      done &&= read.done;
      if (read.data.length === 0) continue;
      // PostgreSQL text holds no NUL; SUB keeps the byte count, so offsets stay exact.
      const data = read.data.replaceAll('\u0000', '\u001a');
      await insertLogChunks(this.db, new Map([[row.id, row.workload_id]]), [{ replicaId: row.id, stream, offset: stored[stream], data }]);
      grew = true;
    }
    return { grew, done };
  }
}
