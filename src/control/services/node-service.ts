import { ApiError } from '../../core/errors.js';
import { newId, idPrefixes } from '../../core/ids.js';
import type { Node } from '../../core/api-types.js';
import type { DesiredState, HeartbeatRequest, LogChunk, RegisterRequest, RegisterResponse } from '../../core/agent-protocol.js';
import {
  getAssignmentRevision,
  getNodeByName,
  insertNode,
  listGpus,
  listNodes,
  replaceGpus,
  reregisterNode,
  reviveNode,
  touchHeartbeat,
} from '../../store/nodes-repo.js';
import { getReplicas, listActiveReplicas, listAssignmentsForNode } from '../../store/replicas-repo.js';
import { insertLogChunks } from '../../store/logs-repo.js';
import { insertGpuUsage } from '../../store/usage-repo.js';
import { listClusters } from '../../store/clusters-repo.js';
import { insertEvents } from '../../store/events-repo.js';
import { inTransaction } from '../../store/transaction.js';
import type { ControlContext } from '../context.js';
import { nodeView } from '../views.js';
import { topics } from '../wakeups.js';
import { hashSecret, newSecret } from '../secrets.js';
import type { AuthService } from './auth-service.js';
import { applyReplicaReports, loseReplicasOfNode, type LifecycleOutcome } from './replica-lifecycle.js';

export class NodeService {
  constructor(
    private readonly ctx: ControlContext,
    private readonly auth: AuthService,
  ) {}

  async list(): Promise<Node[]> {
    const db = this.ctx.db;
    const [nodes, gpus, replicas, clusters] = await Promise.all([listNodes(db), listGpus(db), listActiveReplicas(db), listClusters(db)]);
    const planes = new Map(clusters.map((c) => [c.id, `${c.backend}:${c.name}`]));
    return nodes.map((n) => {
      const allocated = new Map<number, string>();
      for (const r of replicas) if (r.node_id === n.id) for (const i of r.gpu_indices) allocated.set(i, r.workload_id);
      return nodeView(n, gpus.filter((g) => g.node_id === n.id), allocated, n.cluster_id === null ? 'agent' : (planes.get(n.cluster_id) ?? 'cluster'));
    });
  }

  async register(req: RegisterRequest): Promise<RegisterResponse> {
    await this.auth.checkJoinToken(req.joinToken);
    const credential = newSecret('gfn');
    const now = this.ctx.now();
    const registration = { ...req, credentialHash: hashSecret(credential) };
    const { nodeId, outcome } = await inTransaction(this.ctx.db, async (tx) => {
      const existing = await getNodeByName(tx, req.name);
      // A node that registers again has lost its agent state: whatever it ran is unknown, so lost.
      const outcome = existing ? await loseReplicasOfNode(tx, existing.id, `node ${req.name} re-registered`, now) : undefined;
      const row = existing ? await reregisterNode(tx, existing.id, registration, now) : await insertNode(tx, newId(idPrefixes.node), registration, now);
      await replaceGpus(tx, row.id, req.gpus);
      await insertEvents(tx, [
        {
          actor: `node:${row.id}`,
          kind: existing ? 'node.rejoined' : 'node.joined',
          targetKind: 'node',
          targetId: row.id,
          message: `node ${req.name} ${existing ? 'rejoined' : 'joined'} with ${req.gpus.length} ${req.simulated ? 'simulated ' : ''}GPUs`,
        },
      ]);
      return { nodeId: row.id, outcome };
    });
    this.auth.forget();
    this.afterLifecycle(outcome);
    this.ctx.wakeups.wake([topics.schedule]);
    return { nodeId, credential, heartbeatIntervalMs: this.ctx.config.heartbeatIntervalMs };
  }

  async heartbeat(nodeId: string, req: HeartbeatRequest): Promise<DesiredState> {
    const now = this.ctx.now();
    const outcome = await inTransaction(this.ctx.db, async (tx) => {
      const node = await touchHeartbeat(tx, nodeId, now, req.gpuStats);
      if (!node) throw new ApiError('unauthenticated', 'this node is no longer registered; register again');
      const silent = node.state === 'suspect' || node.state === 'lost';
      if (silent && (await reviveNode(tx, nodeId, now))) await insertEvents(tx, [{ actor: `node:${nodeId}`, kind: 'node.ready', targetKind: 'node', targetId: nodeId, message: `node ${node.name} is ready again` }]);
      if (req.gpus) await replaceGpus(tx, nodeId, req.gpus);
      if (req.usage) await insertGpuUsage(tx, nodeId, req.usage);
      return applyReplicaReports(tx, nodeId, req.replicas, now);
    });
    this.afterLifecycle(outcome);
    return this.desiredState(nodeId);
  }

  /** Long-poll: answers when the node's assignments differ from `revision`, or after `waitMs`. */
  async watch(nodeId: string, revision: number, waitMs: number, signal: AbortSignal): Promise<DesiredState> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const current = await getAssignmentRevision(this.ctx.db, nodeId);
      if (!current) throw new ApiError('unauthenticated', 'this node is no longer registered; register again');
      if (current.assignment_revision !== revision || Date.now() >= deadline || signal.aborted) return this.desiredState(nodeId);
      // Re-check at least every second: another server may have changed the assignments.
      await this.ctx.wakeups.waitFor(topics.node(nodeId), Math.min(deadline - Date.now(), 1000), signal);
    }
  }

  async desiredState(nodeId: string): Promise<DesiredState> {
    const db = this.ctx.db;
    const [rev, rows, gpus] = await Promise.all([getAssignmentRevision(db, nodeId), listAssignmentsForNode(db, nodeId), listGpus(db, nodeId)]);
    if (!rev) throw new ApiError('unauthenticated', 'this node is no longer registered; register again');
    const uuidOf = new Map(gpus.map((g) => [g.idx, g.uuid]));
    return {
      nodeState: rev.state,
      revision: rev.assignment_revision,
      heartbeatIntervalMs: this.ctx.config.heartbeatIntervalMs,
      assignments: rows.map((r) => ({
        replicaId: r.id,
        workloadId: r.workload_id,
        workloadName: r.workload_name,
        team: r.team_name,
        queue: r.queue_name,
        generation: r.generation,
        desired: r.desired,
        gpuIndices: r.gpu_indices,
        gpuUuids: r.gpu_indices.map((i) => uuidOf.get(i) ?? ''),
        command: r.spec.command,
        env: r.spec.env,
        workdir: r.spec.workdir,
        gracePeriodMs: r.spec.gracePeriodSeconds * 1000,
        replicaIndex: r.replica_index,
        replicas: r.replicas,
        gpuFraction: r.gpu_fraction,
        gpuMemoryMiB: r.gpu_memory_mib,
        ...(r.spec.service ? { service: r.spec.service } : {}),
      })),
    };
  }

  async uploadLogs(nodeId: string, chunks: LogChunk[]): Promise<void> {
    const replicas = await getReplicas(this.ctx.db, [...new Set(chunks.map((c) => c.replicaId))]);
    const owned = new Map(replicas.filter((r) => r.node_id === nodeId).map((r) => [r.id, r.workload_id]));
    await insertLogChunks(this.ctx.db, owned, chunks);
    this.ctx.wakeups.wake([...new Set(owned.values())].map(topics.logs));
  }

  /** Metrics and wake-ups that follow a committed lifecycle change. */
  afterLifecycle(outcome: LifecycleOutcome | undefined): void {
    if (!outcome) return;
    for (const f of outcome.finished) this.ctx.metrics.finished.inc({ state: f.state });
    if (outcome.requeued.length > 0) this.ctx.metrics.requeued.inc({ reason: 'node_lost' }, outcome.requeued.length);
    const wake = [...outcome.finished.map((f) => topics.workload(f.id)), ...outcome.finished.map((f) => topics.logs(f.id)), ...outcome.nodeIds.map(topics.node)];
    if (outcome.freed || outcome.requeued.length > 0 || outcome.preemptionsDone.length > 0) wake.push(topics.schedule);
    this.ctx.wakeups.wake(wake);
  }
}
