import { SchedulerCarry } from '../../scheduler/carry.js';
import { schedule } from '../../scheduler/schedule.js';
import { allocationAmounts, addAmounts, type Amounts } from '../../scheduler/resources.js';
import type { PendingWorkload, Plan, RunningWorkload, SchedulerConfig, Snapshot, SnapshotNode, SnapshotQueue } from '../../scheduler/types.js';
import { Recall } from '../../scheduler/recall.js';
import { ShapeTable } from '../../scheduler/shapes.js';
import { DecayedUsage, type UsageRun } from './usage.js';

/**
 * gpufleet-default in a replay: the production `schedule()` (src/scheduler/schedule.ts), called
 * as the server's scheduler loop calls it, on a snapshot built from the simulator's state at
 * simulated time, with each queue's decayed past use weighed as the control plane weighs it.
 *
 * The snapshot is reduced in one way that changes no plan: of each queue's pending workloads of
 * one priority and shape, only the oldest whose GPUs add up to the cluster's capacity are passed.
 * Within a queue and priority workloads go by age, and once one of a shape is turned away the
 * later ones of that shape are too (docs/scheduler.md, "Cost of a cycle"), so a workload behind
 * more than a whole cluster of its own shape cannot start this cycle; and a queue's fair share is
 * capped by its demand, which the oldest already put at or above the capacity.
 */
export class ProductionScheduler {
  private readonly usage: DecayedUsage;
  private readonly runs = new Map<string, UsageRun>();
  private readonly shapes = new ShapeTable();
  /** The fleet of the last cycle, reused: the nodes never change in a replay. */
  private readonly carry = new SchedulerCarry();
  /** Each pending workload's group (queue, priority, shape) and GPUs, found once: a backlog is read every cycle. */
  private readonly asks = new Recall<PendingWorkload, Ask>();
  private readonly ask = (w: PendingWorkload) => this.askOf(w);
  private readonly groups = new Map<string, number>();
  /** One `Ask` per group, GPUs and claim, shared by the workloads alike. */
  private readonly askByKey = new Map<string, Ask>();

  constructor(
    private readonly nodes: SnapshotNode[],
    private readonly queues: SnapshotQueue[],
    readonly config: SchedulerConfig,
    halfLifeMs: number,
    private readonly capacityGpus: number,
  ) {
    this.usage = new DecayedUsage(halfLifeMs);
  }

  started(w: RunningWorkload): void {
    const amounts: Amounts = {};
    for (const a of w.allocations) addAmounts(amounts, allocationAmounts(a));
    const run = { queue: w.queueId, amounts, startMs: w.startedAt };
    this.runs.set(w.id, run);
    this.usage.start(run);
  }

  ended(workloadId: string, endMs: number): void {
    const run = this.runs.get(workloadId);
    if (!run) throw new Error(`replay: ${workloadId} ended but never started`);
    this.runs.delete(workloadId);
    this.usage.finish(run, endMs);
  }

  /** The snapshot the server would read at `nowMs`; `pending` in age order. */
  snapshot(nowMs: number, pending: readonly PendingWorkload[], running: RunningWorkload[]): Snapshot {
    const usage = this.usage.usageAt(nowMs);
    return {
      nodes: this.nodes,
      queues: this.queues.map((q) => ({ ...q, decayedUsage: usage.get(q.id) ?? {} })),
      running,
      pending: this.reduce(pending),
    };
  }

  plan(snapshot: Snapshot, nowMs: number): Plan {
    return schedule(snapshot, this.config, nowMs, { carry: this.carry });
  }

  private reduce(pending: readonly PendingWorkload[]): PendingWorkload[] {
    const asks = this.asks.of(pending, this.ask);
    const asked: number[] = new Array<number>(this.groups.size).fill(0);
    const out: PendingWorkload[] = [];
    for (let i = 0; i < pending.length; i++) {
      const { group, gpus, claimant } = asks[i]!;
      const before = asked[group] ?? 0;
      // A claimant goes first (docs/scheduler.md): it is always passed.
      if (before >= this.capacityGpus && !claimant) continue;
      asked[group] = before + gpus;
      out.push(pending[i]!);
    }
    return out;
  }

  private askOf(w: PendingWorkload): Ask {
    const key = `${w.queueId}\u0000${w.priority}\u0000${this.shapes.idOf(w)}`;
    let group = this.groups.get(key);
    if (group === undefined) this.groups.set(key, (group = this.groups.size));
    const gpus = w.request.gpus * w.replicas;
    const claimant = w.claimedAt != null;
    const askKey = `${group}\u0000${gpus}\u0000${claimant}`;
    let ask = this.askByKey.get(askKey);
    if (!ask) this.askByKey.set(askKey, (ask = { group, gpus, claimant }));
    return ask;
  }
}

/** What reducing a backlog reads of a pending workload. */
interface Ask {
  group: number;
  /** All its replicas' GPUs. */
  gpus: number;
  claimant: boolean;
}
