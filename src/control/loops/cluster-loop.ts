import type { ClusterStatus } from '../../core/cluster-types.js';
import type { Executor } from '../../executors/spi.js';
import { inTransaction } from '../../store/transaction.js';
import { changeClusterStatus, deleteCluster, listClusterNodes, listClustersToSync, setClusterStatus, setClusterWorkloadsReason } from '../../store/clusters-repo.js';
import { setNodeState } from '../../store/nodes-repo.js';
import { insertEvents } from '../../store/events-repo.js';
import type { ClusterRow } from '../../store/schema.js';
import type { ControlContext } from '../context.js';
import type { NodeService } from '../services/node-service.js';
import { topics } from '../wakeups.js';
import { ClusterJobs } from '../clusters/cluster-jobs.js';
import { syncClusterInventory } from '../clusters/cluster-inventory.js';
import { clusterExecutor, clusterFailure } from '../clusters/cluster-executor.js';
import { readSecret, SecretUnavailableError } from '../clusters/secret-ref.js';

/** The inventory is synced every this many passes (and at once after any failure). */
const inventoryEvery = 5;

interface Plane {
  /** The spec version and token it was built for: either changing builds a new one. */
  key: string;
  jobs: ClusterJobs;
  executor: Executor;
  passes: number;
  unsubscribe: Array<() => void>;
}

/**
 * On the leader: keeps every cluster in step. Each pass syncs the machines into the inventory and
 * reconciles the replicas placed there with the plane's jobs (clusters/cluster-jobs.ts). When the
 * plane cannot be reached or refuses the token, the cluster's status says so, its machines are
 * suspect (nothing new is placed there), and its replicas keep their last known state: nothing is
 * requeued or submitted twice, and the next pass that gets through reconciles them.
 */
export class ClusterLoop {
  private readonly planes = new Map<string, Plane>();
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private again = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly ctx: ControlContext,
    private readonly nodes: NodeService,
  ) {}

  start(): void {
    this.unsubscribe = this.ctx.wakeups.on(topics.clusters, () => this.trigger());
    this.timer = setInterval(() => this.trigger(), this.ctx.config.clusterSyncIntervalMs);
    this.trigger();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
    for (const plane of this.planes.values()) plane.unsubscribe.forEach((u) => u());
    this.planes.clear();
    await this.busy;
  }

  private trigger(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = this.passAll()
      .catch((err: unknown) => this.ctx.logger.error({ err }, 'cluster pass failed'))
      .finally(() => {
        this.busy = undefined;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      });
  }

  private async passAll(): Promise<void> {
    const clusters = await listClustersToSync(this.ctx.db);
    for (const id of this.planes.keys()) if (!clusters.some((c) => c.id === id)) this.dropPlane(id);
    for (const cluster of clusters) await this.pass(cluster);
  }

  private async pass(cluster: ClusterRow): Promise<void> {
    let token: string;
    try {
      token = await readSecret(cluster.spec.token);
    } catch (err) {
      if (!(err instanceof SecretUnavailableError)) throw err;
      return this.fail(cluster, 'unauthorized', `cannot read the Slurm JWT: ${err.message}`);
    }
    const plane = this.planeFor(cluster, token);
    try {
      if (cluster.deleted_at !== null) return await this.finishDeletion(cluster, plane);
      const now = this.ctx.now();
      const syncInventory = plane.passes++ % inventoryEvery === 0 || cluster.status !== 'ready';
      if (syncInventory) this.watchNodes(plane, await syncClusterInventory(this.ctx.db, cluster, await plane.executor.syncInventory(), now));
      const pass = await plane.jobs.reconcile(() => this.ctx.now());
      if (pass.lost > 0) plane.passes = 0;
      for (const outcome of pass.outcomes) this.nodes.afterLifecycle(outcome);
      this.ctx.wakeups.wake(pass.logsOf.map(topics.logs));
      if (cluster.status !== 'ready') {
        await setClusterWorkloadsReason(this.ctx.db, cluster.id, unreachablePrefix(cluster), null);
        // With the sync's time in the same update: a cluster never reads ready without it.
        await this.changeStatus(cluster, 'ready', null, now);
        this.ctx.wakeups.wake([topics.schedule]);
      } else if (syncInventory) await setClusterStatus(this.ctx.db, cluster.id, 'ready', null, now);
    } catch (err) {
      const failure = clusterFailure(err);
      if (!failure) throw err;
      // The next pass starts over with a fresh inventory.
      plane.passes = 0;
      await this.fail(cluster, failure.status, failure.message);
    }
  }

  /** A deleted cluster's row goes once the jobs it left are cancelled. */
  private async finishDeletion(cluster: ClusterRow, plane: Plane): Promise<void> {
    if ((await plane.jobs.cancelLeftovers()) > 0) return;
    await deleteCluster(this.ctx.db, cluster.id);
    this.dropPlane(cluster.id);
    this.ctx.logger.info({ cluster: cluster.name }, `cluster ${cluster.name} is gone: the jobs it left are cancelled`);
  }

  private dropPlane(clusterId: string): void {
    this.planes.get(clusterId)?.unsubscribe.forEach((u) => u());
    this.planes.delete(clusterId);
  }

  private planeFor(cluster: ClusterRow, token: string): Plane {
    const key = `${cluster.version}\n${token}`;
    const known = this.planes.get(cluster.id);
    if (known?.key === key) return known;
    known?.unsubscribe.forEach((u) => u());
    const executor = clusterExecutor(cluster, token);
    const plane: Plane = { key, executor, jobs: new ClusterJobs(this.ctx.db, cluster, executor, this.ctx.logger), passes: 0, unsubscribe: [] };
    this.planes.set(cluster.id, plane);
    return plane;
  }

  /** A placement or a stop on one of the cluster's machines wakes its node: the pass runs at once. */
  private watchNodes(plane: Plane, nodeIds: string[]): void {
    plane.unsubscribe.forEach((u) => u());
    plane.unsubscribe = nodeIds.map((id) => this.ctx.wakeups.on(topics.node(id), () => this.trigger()));
  }

  private async fail(cluster: ClusterRow, status: ClusterStatus, message: string): Promise<void> {
    if (cluster.status === status && cluster.message === message) return;
    this.ctx.logger.warn({ cluster: cluster.name, status, message }, 'cluster not ready');
    const now = this.ctx.now();
    for (const node of await listClusterNodes(this.ctx.db, cluster.id)) if (node.state === 'ready') await setNodeState(this.ctx.db, node.id, 'ready', 'suspect', now);
    await setClusterWorkloadsReason(this.ctx.db, cluster.id, unreachablePrefix(cluster), `${unreachablePrefix(cluster)}${status}: ${message}; its jobs keep their last known state until it answers again`);
    await this.changeStatus(cluster, status, message);
  }

  private async changeStatus(cluster: ClusterRow, status: ClusterStatus, message: string | null, syncedAt: Date | null = null): Promise<void> {
    // A failure that only changed its words (or a pass that read the row before another wrote it) is no new event.
    const changed = await inTransaction(this.ctx.db, (tx) => changeClusterStatus(tx, cluster.id, status, message, syncedAt));
    if (!changed) return;
    await insertEvents(this.ctx.db, [
      { actor: 'system', kind: `cluster.${status}`, targetKind: 'cluster', targetId: cluster.id, message: `cluster ${cluster.name} is ${status}${message ? `: ${message}` : ''}` },
    ]);
  }
}

function unreachablePrefix(cluster: ClusterRow): string {
  return `cluster ${cluster.name} is `;
}
