import { isDeepStrictEqual } from 'node:util';
import { ApiError } from '../../core/errors.js';
import { newId, idPrefixes } from '../../core/ids.js';
import type { ApplyResult } from '../../core/api-types.js';
import type { Cluster, ClusterSpec } from '../../core/cluster-types.js';
import { idempotencyKey } from '../../executors/spi.js';
import {
  addJobCancels,
  deleteCluster,
  getClusterByName,
  insertCluster,
  isClusterBeingDeleted,
  listClusterNodes,
  listClusterReplicas,
  listClusters,
  listJobCancels,
  lockLiveCluster,
  markClusterDeleted,
  removeClusterNodes,
  updateClusterSpec,
} from '../../store/clusters-repo.js';
import { listGpus } from '../../store/nodes-repo.js';
import { getReplicas } from '../../store/replicas-repo.js';
import { insertEvents } from '../../store/events-repo.js';
import { inTransaction, isUniqueViolation } from '../../store/transaction.js';
import type { ClusterRow } from '../../store/schema.js';
import type { ControlContext } from '../context.js';
import type { UserPrincipal } from '../http/principal.js';
import type { NodeService } from './node-service.js';
import { loseReplicas, type LifecycleOutcome } from './replica-lifecycle.js';
import { clusterView } from '../views.js';
import { topics } from '../wakeups.js';

/** `kind: Cluster`: the planes gpufleet admits into; the cluster loop syncs them. */
export class ClusterService {
  constructor(
    private readonly ctx: ControlContext,
    private readonly nodes: NodeService,
  ) {}

  private async views(rows: ClusterRow[]): Promise<Cluster[]> {
    const [nodes, gpus] = await Promise.all([listClusterNodes(this.ctx.db), listGpus(this.ctx.db)]);
    return rows.map((row) => {
      const mine = new Set(nodes.filter((n) => n.cluster_id === row.id && n.state !== 'lost').map((n) => n.id));
      return clusterView(row, mine.size, gpus.filter((g) => mine.has(g.node_id)).length);
    });
  }

  async list(): Promise<Cluster[]> {
    return this.views(await listClusters(this.ctx.db));
  }

  async get(name: string): Promise<Cluster> {
    const row = await getClusterByName(this.ctx.db, name);
    if (!row) throw new ApiError('not_found', `cluster ${name} not found`);
    return (await this.views([row]))[0]!;
  }

  async put(user: UserPrincipal, name: string, spec: ClusterSpec, version: number | undefined): Promise<{ result: ApplyResult; cluster: Cluster }> {
    let outcome: { result: ApplyResult; row: ClusterRow };
    try {
      outcome = await inTransaction(this.ctx.db, async (tx) => {
        const existing = await getClusterByName(tx, name);
        if (!existing && (await isClusterBeingDeleted(tx, name)))
          throw new ApiError('conflict', `cluster ${name} is being deleted: its jobs are still being cancelled; try again once it is gone`);
        if (!existing) {
          const row = await insertCluster(tx, { id: newId(idPrefixes.cluster), name, spec });
          await insertEvents(tx, [{ actor: user.name, kind: 'cluster.created', targetKind: 'cluster', targetId: row.id, message: `cluster ${name} (${spec.backend} at ${spec.url}) created`, data: { spec } }]);
          return { result: 'created' as const, row };
        }
        if (version !== undefined && version !== existing.version)
          throw new ApiError('version_conflict', `cluster ${name} is at version ${existing.version}, not ${version}`);
        if (isDeepStrictEqual(existing.spec, spec)) return { result: 'unchanged' as const, row: existing };
        const row = await updateClusterSpec(tx, existing.id, existing.version, spec, this.ctx.now());
        if (!row) throw new ApiError('version_conflict', `cluster ${name} changed while it was being updated; try again`);
        await insertEvents(tx, [{ actor: user.name, kind: 'cluster.updated', targetKind: 'cluster', targetId: row.id, message: `cluster ${name} updated`, data: { spec } }]);
        return { result: 'updated' as const, row };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError('version_conflict', `cluster ${name} was created concurrently; try again`);
      throw err;
    }
    if (outcome.result !== 'unchanged') this.ctx.wakeups.wake([topics.clusters]);
    return { result: outcome.result, cluster: (await this.views([outcome.row]))[0]! };
  }

  /**
   * Deletes a cluster. While workloads are admitted or running on it, refused unless `force`, which
   * requeues them and leaves their jobs to the cluster loop to cancel (cluster_job_cancels). Its
   * machines leave the inventory. The row itself goes at once, or once those jobs are cancelled.
   */
  async delete(user: UserPrincipal, name: string, force: boolean): Promise<void> {
    const now = this.ctx.now();
    const lifecycle = await inTransaction(this.ctx.db, async (tx) => {
      const cluster = await getClusterByName(tx, name);
      if (!cluster || !(await lockLiveCluster(tx, cluster.id))) throw new ApiError('not_found', `cluster ${name} not found`);
      const replicas = await listClusterReplicas(tx, cluster.id);
      const workloads = [...new Set(replicas.map((r) => r.workload_name))].sort();
      if (workloads.length > 0 && !force)
        throw new ApiError('conflict', `cluster ${name} has active workloads: ${workloads.join(', ')}; delete it with force to requeue them and cancel their jobs`, { workloads });
      let outcome: LifecycleOutcome | undefined;
      if (replicas.length > 0) {
        outcome = await loseReplicas(tx, await getReplicas(tx, replicas.map((r) => r.id)), `cluster ${name} was deleted`, now);
        await addJobCancels(tx, cluster.id, replicas.map((r) => ({ idempotencyKey: idempotencyKey(r.id, r.generation), externalId: r.external_id })));
      }
      const machines = await removeClusterNodes(tx, cluster.id, now);
      const jobsLeft = (await listJobCancels(tx, cluster.id)).length;
      if (jobsLeft > 0) await markClusterDeleted(tx, cluster.id, now);
      else await deleteCluster(tx, cluster.id);
      const requeued = workloads.length > 0 ? `; requeued ${workloads.join(', ')}` : '';
      const cancels = jobsLeft > 0 ? `; ${jobsLeft} job(s) left to cancel` : '';
      await insertEvents(tx, [
        {
          actor: user.name,
          kind: 'cluster.deleted',
          targetKind: 'cluster',
          targetId: cluster.id,
          message: `cluster ${name} deleted; ${machines.length} machine(s) left the inventory${requeued}${cancels}`,
          data: { force, workloads, machines: machines.map((n) => n.name), jobsLeft },
        },
      ]);
      return outcome;
    });
    this.nodes.afterLifecycle(lifecycle);
    this.ctx.wakeups.wake([topics.clusters, topics.schedule]);
  }
}
