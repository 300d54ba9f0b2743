import { nodeStateForSilence, type NodeState } from '../../core/node-state.js';
import type { NodeRow } from '../../store/schema.js';
import { listNodes, setNodeState, bumpAssignmentRevision } from '../../store/nodes-repo.js';
import { insertEvents } from '../../store/events-repo.js';
import { inTransaction } from '../../store/transaction.js';
import type { ControlContext } from '../context.js';
import type { NodeService } from '../services/node-service.js';
import { loseReplicasOfNode } from '../services/replica-lifecycle.js';
import { IntervalDuty } from './interval-duty.js';

/**
 * Marks silent agent nodes suspect, then lost. A lost node's replicas are requeued (with a generation
 * bump at their next admission), so a node that comes back is told to kill its stale copies.
 */
export class NodeHealthLoop {
  private readonly duty: IntervalDuty;

  constructor(
    private readonly ctx: ControlContext,
    private readonly nodes: NodeService,
  ) {
    this.duty = new IntervalDuty(ctx.config.healthCheckIntervalMs, () => this.check(), (err) => ctx.logger.error({ err }, 'node health check failed'));
  }

  start(): void {
    this.duty.start();
  }

  stop(): Promise<void> {
    return this.duty.stop();
  }

  async check(): Promise<void> {
    const now = this.ctx.now();
    const cfg = { suspectAfterMs: this.ctx.config.nodeSuspectAfterMs, lostAfterMs: this.ctx.config.nodeLostAfterMs };
    for (const node of await listNodes(this.ctx.db)) {
      // A cluster's machines have no agent to hear from; the cluster loop keeps their state.
      if (node.cluster_id !== null) continue;
      const silentFor = node.last_heartbeat_at ? now.getTime() - node.last_heartbeat_at.getTime() : Infinity;
      // One step at a time, each with its event: a check held up past both bounds still tells suspect, then lost.
      for (let from = node.state, next = nodeStateForSilence(from, silentFor, cfg); next !== from; from = next, next = nodeStateForSilence(from, silentFor, cfg)) {
        if (!(await this.step(node, from, next, silentFor, now))) break;
      }
    }
  }

  /** Moves `node` from `from` to `next` with its event, and a lost node's replicas requeued; false when another writer moved it first. */
  private async step(node: NodeRow, from: NodeState, next: NodeState, silentFor: number, now: Date): Promise<boolean> {
    const outcome = await inTransaction(this.ctx.db, async (tx) => {
      const changed = await setNodeState(tx, node.id, from, next, now);
      if (!changed) return null;
      await insertEvents(tx, [
        { actor: 'system', kind: `node.${next}`, targetKind: 'node', targetId: node.id, message: `node ${node.name} is ${next} (silent for ${Math.round(silentFor / 1000)}s)` },
      ]);
      if (next !== 'lost') return undefined;
      const lost = await loseReplicasOfNode(tx, node.id, `node ${node.name} lost`, now);
      await bumpAssignmentRevision(tx, [node.id]);
      return lost;
    });
    if (outcome === null) return false;
    if (outcome) this.ctx.logger.warn({ node: node.name, requeued: outcome.requeued.length }, 'node lost; its workloads were requeued');
    this.nodes.afterLifecycle(outcome);
    return true;
  }
}
