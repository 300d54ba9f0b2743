import { chargeQueue, quotaBlock } from '../../src/scheduler/quota.js';
import type { PendingWorkload, Plan, Snapshot, SnapshotNode, SnapshotQueue } from '../../src/scheduler/types.js';
import type { Allocation, Generated } from './generate.js';
import type { Random } from './random.js';

/**
 * The fleet between cycles, standing in for the database: applies plans the way the plan applier
 * does, and refuses a placement the applier would refuse, so a policy bug fails the benchmark
 * instead of inflating its figures.
 */
export class FleetState {
  readonly nodes: Map<string, SnapshotNode>;
  readonly queues: Map<string, SnapshotQueue>;
  pending: PendingWorkload[];
  readonly allocations: Allocation[];

  constructor(generated: Generated) {
    this.nodes = new Map(generated.snapshot.nodes.map((n) => [n.id, n]));
    this.queues = new Map(generated.snapshot.queues.map((q) => [q.id, q]));
    this.pending = generated.snapshot.pending;
    this.allocations = generated.running;
  }

  snapshot(): Snapshot {
    return { nodes: [...this.nodes.values()], queues: [...this.queues.values()], pending: this.pending };
  }

  /** Applies every placement of `plan` or throws on the first one that does not hold; returns the ids placed. */
  apply(plan: Plan): string[] {
    const byId = new Map(this.pending.map((w) => [w.id, w]));
    const placed: string[] = [];
    for (const p of plan.placements) {
      const workload = byId.get(p.workloadId);
      if (!workload) throw new Error(`placement of ${p.workloadId}, which is not pending (unknown or placed twice)`);
      byId.delete(p.workloadId);
      const node = this.nodes.get(p.nodeId);
      if (!node?.schedulable) throw new Error(`${p.workloadId} placed on ${p.nodeId}, which is not a ready node`);
      if (p.gpuIndices.length !== workload.gpus) throw new Error(`${p.workloadId} asked for ${workload.gpus} GPUs, got ${p.gpuIndices.length}`);
      for (const index of p.gpuIndices) {
        const gpu = node.gpus.find((g) => g.index === index);
        if (!gpu) throw new Error(`${p.workloadId} placed on ${p.nodeId} GPU ${index}, which does not exist`);
        if (gpu.model !== p.gpuModel) throw new Error(`${p.workloadId} placed on a ${gpu.model} GPU labelled ${p.gpuModel}`);
        if (node.usedGpuIndices.includes(index)) throw new Error(`${p.workloadId} placed on ${p.nodeId} GPU ${index}, which is in use`);
        node.usedGpuIndices.push(index);
      }
      if (p.gpuModel === null) throw new Error(`${p.workloadId} placed without a GPU model`);
      if (workload.gpuModel !== null && workload.gpuModel !== p.gpuModel) throw new Error(`${p.workloadId} wants ${workload.gpuModel}, got ${p.gpuModel}`);
      const queue = this.queues.get(workload.queueId)!;
      const blocked = quotaBlock(queue, p.gpuModel, workload.gpus);
      if (blocked) throw new Error(`${p.workloadId}: ${blocked}`);
      chargeQueue(queue, p.gpuModel, workload.gpus);
      this.allocations.push({ workloadId: p.workloadId, nodeId: p.nodeId, gpuIndices: p.gpuIndices, gpuModel: p.gpuModel, queueId: workload.queueId });
      placed.push(p.workloadId);
    }
    if (placed.length > 0) this.pending = [...byId.values()];
    return placed;
  }

  /** Ends `count` random running allocations, freeing their GPUs and their queues' usage. */
  finish(count: number, random: Random): void {
    for (let i = 0; i < count && this.allocations.length > 0; i++) {
      const at = Math.floor(random() * this.allocations.length);
      const ended = this.allocations[at]!;
      this.allocations[at] = this.allocations[this.allocations.length - 1]!;
      this.allocations.pop();
      const node = this.nodes.get(ended.nodeId)!;
      node.usedGpuIndices = node.usedGpuIndices.filter((i) => !ended.gpuIndices.includes(i));
      const queue = this.queues.get(ended.queueId)!;
      queue.usage[ended.gpuModel] = (queue.usage[ended.gpuModel] ?? 0) - ended.gpuIndices.length;
    }
  }

  refill(target: number, next: () => PendingWorkload): void {
    while (this.pending.length < target) this.pending.push(next());
  }
}
