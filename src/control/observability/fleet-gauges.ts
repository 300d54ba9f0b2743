import { Gauge, type Registry } from '../../observe/metrics.js';
import { listGpus, listNodes } from '../../store/nodes-repo.js';
import { listActiveReplicas } from '../../store/replicas-repo.js';
import { countPendingByQueueAndReason } from '../../store/workloads-repo.js';
import type { Db } from '../../store/db.js';
import { pendingReasonCategory } from './pending-reasons.js';

/**
 * The fleet's state as gauges, read from the database when Prometheus scrapes: every server of a
 * shared database answers the same, leader or not, and nothing in memory can drift from the rows.
 */
export class FleetGauges {
  private readonly pending: Gauge<'queue' | 'reason'>;
  private readonly nodes: Gauge<'state'>;
  private readonly allocated: Gauge<'model'>;
  private readonly idle: Gauge<'model'>;

  constructor(
    registry: Registry,
    private readonly db: Db,
    private readonly now: () => Date,
  ) {
    const registers = [registry];
    this.pending = new Gauge({ name: 'gpufleet_queue_pending_workloads', help: 'Workloads waiting for admission, by queue and why they wait', labelNames: ['queue', 'reason'], registers });
    this.nodes = new Gauge({ name: 'gpufleet_nodes', help: 'Nodes by state', labelNames: ['state'], registers });
    this.allocated = new Gauge({ name: 'gpufleet_gpus_allocated', help: 'GPUs held by an active replica (whole or in part), by model', labelNames: ['model'], registers });
    this.idle = new Gauge({ name: 'gpufleet_gpus_idle', help: 'GPUs on ready nodes that no replica holds, by model', labelNames: ['model'], registers });
  }

  /** Re-reads the rows; called before each scrape. */
  async refresh(): Promise<void> {
    const now = this.now();
    const [pending, nodes, gpus, replicas] = await Promise.all([countPendingByQueueAndReason(this.db, now), listNodes(this.db), listGpus(this.db), listActiveReplicas(this.db)]);

    const pendingCounts = new Map<string, { queue: string; reason: string; count: number }>();
    for (const row of pending) {
      const reason = pendingReasonCategory(row.reason, row.backing_off === true);
      const key = `${row.queue}\u0000${reason}`;
      const entry = pendingCounts.get(key) ?? { queue: row.queue, reason, count: 0 };
      entry.count += Number(row.count);
      pendingCounts.set(key, entry);
    }
    this.pending.reset();
    for (const { queue, reason, count } of pendingCounts.values()) this.pending.set({ queue, reason }, count);

    this.nodes.reset();
    for (const state of ['ready', 'suspect', 'lost', 'draining']) this.nodes.set({ state }, nodes.filter((n) => n.state === state).length);

    const held = new Set(replicas.flatMap((r) => r.gpu_indices.map((i) => `${r.node_id}/${i}`)));
    const ready = new Set(nodes.filter((n) => n.state === 'ready').map((n) => n.id));
    const allocated = new Map<string, number>();
    const idle = new Map<string, number>();
    for (const g of gpus) {
      allocated.set(g.model, allocated.get(g.model) ?? 0);
      idle.set(g.model, idle.get(g.model) ?? 0);
      if (held.has(`${g.node_id}/${g.idx}`)) allocated.set(g.model, allocated.get(g.model)! + 1);
      else if (ready.has(g.node_id)) idle.set(g.model, idle.get(g.model)! + 1);
    }
    this.allocated.reset();
    this.idle.reset();
    for (const [model, n] of allocated) this.allocated.set({ model }, n);
    for (const [model, n] of idle) this.idle.set({ model }, n);
  }
}
