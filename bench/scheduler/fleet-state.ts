import { chargeGpus, gpusHeld, limitBlock, type Usage } from '../../src/scheduler/quota.js';
import type { Plan, PendingWorkload, ReplicaAllocation, RunningWorkload, Snapshot, SnapshotNode, SnapshotQueue, WorkloadBase } from '../../src/scheduler/types.js';
import { pendingWorkload, runningWorkload } from '../../src/scheduler/workload-objects.js';
import { lineage, type Generated } from './generate.js';
import type { Random } from './random.js';

// Fractional shares add up in floating point: three thirds of a GPU must fit on it.
const EPSILON = 1e-9;

/** What is held on one node: the share of each GPU (1 for a whole one, by position in `node.gpus`), cores and memory. */
export interface NodeUse {
  node: SnapshotNode;
  /** GPU index → position in `node.gpus`. */
  position: Map<number, number>;
  share: Float64Array;
  cpus: number;
  memoryMiB: number;
}

/** What one plan changed. */
export interface Applied {
  placed: string[];
  preempted: string[];
  moved: string[];
}

/**
 * The fleet between cycles, standing in for the database: applies plans the way the plan applier
 * does, and refuses a plan the applier would refuse, so a policy bug fails the benchmark instead of
 * inflating its figures. Checked for each allocation: the node is ready, each GPU exists, is of the
 * model the allocation names and one the workload accepts, and is not held (a fractional share: the
 * shares on a GPU stay within 1), the replica gets what it asked for, cores and memory where the
 * node says, a required topology, and the limits of the workload's queue and all its ancestors on
 * `gpu` and `gpu/<model>`.
 *
 * A plan is applied in order of what it frees last: placements (against what is held before the
 * plan), then moves (each stopped and started at its new place at once), then preemptions (the
 * victim leaves at once — standing in for its processes ending — and is pending again as it was
 * submitted). So nothing a plan frees is taken by the same plan: as in the control plane, where
 * resources free up only once the processes have ended, a policy places on them a cycle later.
 */
export class FleetState {
  readonly nodes: Map<string, NodeUse>;
  readonly queues: Map<string, SnapshotQueue>;
  /** GPUs held by each queue with its children, on `gpu` and `gpu/<model>`. */
  readonly usage: Map<string, Usage>;
  pending: PendingWorkload[];
  private readonly nodeList: SnapshotNode[];
  private readonly queueList: SnapshotQueue[];
  private readonly runningList: RunningWorkload[] = [];
  private readonly runningAt = new Map<string, number>();

  constructor(generated: Generated) {
    const { snapshot } = generated;
    this.nodeList = snapshot.nodes;
    this.queueList = snapshot.queues;
    this.nodes = new Map(
      snapshot.nodes.map((node) => [
        node.id,
        { node, position: new Map(node.gpus.map((g, i) => [g.index, i])), share: new Float64Array(node.gpus.length), cpus: 0, memoryMiB: 0 },
      ]),
    );
    this.queues = new Map(snapshot.queues.map((q) => [q.id, q]));
    this.usage = new Map(snapshot.queues.map((q) => [q.id, new Map()]));
    this.pending = [...snapshot.pending];
    for (const w of snapshot.running) {
      this.hold(w, w.allocations, `running ${w.id}`);
      this.addRunning(w);
    }
  }

  get running(): readonly RunningWorkload[] {
    return this.runningList;
  }

  /**
   * What the policy sees; copies of the lists, so applying a plan leaves a snapshot as it was. The
   * backlog comes as the server's store lists it: by priority, then age, then id.
   */
  snapshot(): Snapshot {
    const pending = this.pending.map((w) => pendingWorkload(w, w.claimedAt ?? null)).sort((a, b) => b.priority - a.priority || a.submittedAt - b.submittedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { nodes: this.nodeList, queues: this.queueList, running: this.runningList.map(asRead), pending };
  }

  /** Applies `plan` at `now` or throws on the first thing in it the plan applier would refuse. */
  apply(plan: Plan, now: number): Applied {
    const byId = new Map(this.pending.map((w) => [w.id, w]));
    const applied: Applied = { placed: [], preempted: [], moved: [] };
    for (const p of plan.placements) {
      const workload = byId.get(p.workloadId);
      if (!workload) throw new Error(`placement of ${p.workloadId}, which is not pending (unknown, running or placed twice)`);
      byId.delete(p.workloadId);
      this.hold(workload, p.allocations, p.workloadId);
      this.addRunning(runningWorkload(workload, { startedAt: now, allocations: p.allocations, releasing: false, releasingFor: null }));
      applied.placed.push(p.workloadId);
    }
    for (const m of plan.moves) {
      const workload = this.stoppable(m.workloadId, 'move');
      this.release(workload);
      this.hold(workload, m.to, `move of ${m.workloadId}`);
      this.runningList[this.runningAt.get(workload.id)!] = { ...workload, startedAt: now, allocations: m.to };
      applied.moved.push(m.workloadId);
    }
    for (const p of plan.preemptions) {
      const victim = this.stoppable(p.workloadId, 'preemption');
      if (!p.reason) throw new Error(`preemption of ${p.workloadId} without a reason`);
      this.release(victim);
      this.removeRunning(victim.id);
      const { startedAt: _s, allocations: _a, releasing: _r, ...submitted } = victim;
      byId.set(victim.id, submitted satisfies WorkloadBase);
      applied.preempted.push(p.workloadId);
    }
    // The plan applier records each preemptor's claim on what its victims free (`claimedAt`).
    for (const { forWorkloadId } of [...plan.preemptions, ...plan.moves]) {
      const claimant = byId.get(forWorkloadId);
      if (claimant) byId.set(forWorkloadId, pendingWorkload(claimant, now));
    }
    if (applied.placed.length > 0 || applied.preempted.length > 0) this.pending = [...byId.values()];
    return applied;
  }

  /** Ends `count` random running workloads (every replica of each), freeing what they held. */
  finish(count: number, random: Random): void {
    for (let i = 0; i < count && this.runningList.length > 0; i++) {
      const ended = this.runningList[Math.floor(random() * this.runningList.length)]!;
      this.release(ended);
      this.removeRunning(ended.id);
    }
  }

  refill(target: number, next: () => PendingWorkload): void {
    while (this.pending.length < target) this.pending.push(next());
  }

  private stoppable(id: string, what: string): RunningWorkload {
    const at = this.runningAt.get(id);
    if (at === undefined) throw new Error(`${what} of ${id}, which is not running (unknown, pending or stopped twice)`);
    const workload = this.runningList[at]!;
    if (!workload.preemptible) throw new Error(`${what} of ${id}, which is not preemptible`);
    return workload;
  }

  private addRunning(workload: RunningWorkload): void {
    this.runningAt.set(workload.id, this.runningList.length);
    this.runningList.push(workload);
  }

  private removeRunning(id: string): void {
    const at = this.runningAt.get(id)!;
    const last = this.runningList.pop()!;
    this.runningAt.delete(id);
    if (last.id !== id) {
      this.runningList[at] = last;
      this.runningAt.set(last.id, at);
    }
  }

  /** Validates `allocations` for `workload` against what is held, allocation by allocation, and holds them. */
  private hold(workload: WorkloadBase, allocations: ReplicaAllocation[], what: string): void {
    if (allocations.length !== workload.replicas) throw new Error(`${what}: ${workload.replicas} replicas, ${allocations.length} allocations`);
    const required = workload.topology.required;
    if (required !== null && allocations.length > 0) {
      const value = (a: ReplicaAllocation) => (required === 'node' ? a.nodeId : this.nodes.get(a.nodeId)?.node.labels[required]);
      const first = value(allocations[0]!);
      if (first === undefined || allocations.some((a) => value(a) !== first)) throw new Error(`${what}: replicas not all within one ${required}`);
    }
    const chain = lineage(workload.queueId, this.queues);
    if (chain.length === 0) throw new Error(`${what}: queue ${workload.queueId} does not exist`);
    for (const a of allocations) {
      this.check(workload, a, what, chain);
      this.take(a, chain, 1);
    }
  }

  private check(workload: WorkloadBase, a: ReplicaAllocation, what: string, chain: SnapshotQueue[]): void {
    const use = this.nodes.get(a.nodeId);
    if (!use?.node.schedulable) throw new Error(`${what} placed on ${a.nodeId}, which is not a ready node`);
    const { request } = workload;
    const fractional = request.gpuFraction !== null || request.gpuMemoryMiB !== null;
    if (fractional) {
      if (a.gpuIndices.length !== 1 || a.gpuFraction === null || !(a.gpuFraction > 0 && a.gpuFraction <= 1))
        throw new Error(`${what} asked for a share of one GPU, got GPUs [${a.gpuIndices.join(', ')}] at share ${a.gpuFraction}`);
      if (request.gpuFraction !== null && a.gpuFraction < request.gpuFraction - EPSILON)
        throw new Error(`${what} asked for ${request.gpuFraction} of a GPU, got ${a.gpuFraction}`);
    } else {
      if (a.gpuFraction !== null) throw new Error(`${what} asked for whole GPUs, got a share of ${a.gpuFraction}`);
      if (a.gpuIndices.length !== request.gpus) throw new Error(`${what} asked for ${request.gpus} GPUs, got ${a.gpuIndices.length}`);
      if (new Set(a.gpuIndices).size !== a.gpuIndices.length) throw new Error(`${what} given one GPU twice: [${a.gpuIndices.join(', ')}]`);
    }
    if (a.gpuIndices.length === 0 && a.gpuModel !== null) throw new Error(`${what} holds no GPU but names model ${a.gpuModel}`);
    if (a.gpuIndices.length > 0 && a.gpuModel === null) throw new Error(`${what} placed without a GPU model`);
    if (a.gpuModel !== null && workload.gpuModels !== null && !workload.gpuModels.includes(a.gpuModel))
      throw new Error(`${what} wants ${workload.gpuModels.join(' or ')}, got ${a.gpuModel}`);
    for (const index of a.gpuIndices) {
      const at = use.position.get(index);
      if (at === undefined) throw new Error(`${what} placed on ${a.nodeId} GPU ${index}, which does not exist`);
      const gpu = use.node.gpus[at]!;
      if (gpu.model !== a.gpuModel) throw new Error(`${what} placed on a ${gpu.model} GPU labelled ${a.gpuModel}`);
      if (a.gpuFraction === null ? use.share[at]! > EPSILON : use.share[at]! + a.gpuFraction > 1 + EPSILON)
        throw new Error(`${what} placed on ${a.nodeId} GPU ${index}, which is in use (${round(use.share[at]!)} of it held)`);
      if (request.gpuMemoryMiB !== null && a.gpuFraction !== null && a.gpuFraction * gpu.memoryMiB < request.gpuMemoryMiB - EPSILON)
        throw new Error(`${what} asked for ${request.gpuMemoryMiB} MiB of GPU memory, got ${round(a.gpuFraction)} of ${gpu.memoryMiB} MiB`);
    }
    if (a.cpus < request.cpus || a.memoryMiB < request.memoryMiB)
      throw new Error(`${what} asked for ${request.cpus} cores and ${request.memoryMiB} MiB, got ${a.cpus} and ${a.memoryMiB}`);
    if (use.node.cpus > 0 && use.cpus + a.cpus > use.node.cpus) throw new Error(`${what}: ${a.nodeId} has ${use.node.cpus - use.cpus} cores free, not ${a.cpus}`);
    if (use.node.memoryMiB > 0 && use.memoryMiB + a.memoryMiB > use.node.memoryMiB)
      throw new Error(`${what}: ${a.nodeId} has ${use.node.memoryMiB - use.memoryMiB} MiB free, not ${a.memoryMiB}`);
    if (a.gpuModel !== null) {
      const amount = gpusHeld(a);
      for (const q of chain) {
        const blocked = limitBlock(q, this.usage.get(q.id), a.gpuModel, amount);
        if (blocked) throw new Error(`${what}: ${blocked}`);
      }
    }
  }

  /** Holds (sign 1) or releases (sign −1) one allocation: GPU shares, cores, memory and queue usage up the tree. */
  private take(a: ReplicaAllocation, chain: SnapshotQueue[], sign: 1 | -1): void {
    const use = this.nodes.get(a.nodeId)!;
    for (const index of a.gpuIndices) {
      const at = use.position.get(index)!;
      const share = use.share[at]! + sign * (a.gpuFraction ?? 1);
      use.share[at] = share < EPSILON ? 0 : share;
    }
    use.cpus += sign * a.cpus;
    use.memoryMiB += sign * a.memoryMiB;
    if (a.gpuModel !== null) for (const q of chain) chargeGpus(this.usage.get(q.id)!, a.gpuModel, sign * gpusHeld(a));
  }

  private release(workload: RunningWorkload): void {
    const chain = lineage(workload.queueId, this.queues);
    for (const a of workload.allocations) this.take(a, chain, -1);
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Fresh objects with one key order each, as the control plane's snapshot read builds them from
 * rows (see workload-objects.ts). Untimed, like the database read it stands for.
 */
function asRead(w: RunningWorkload): RunningWorkload {
  return runningWorkload(w, {
    startedAt: w.startedAt,
    allocations: w.allocations.map((a) => ({ nodeId: a.nodeId, gpuIndices: a.gpuIndices, gpuFraction: a.gpuFraction, gpuModel: a.gpuModel, cpus: a.cpus, memoryMiB: a.memoryMiB })),
    releasing: w.releasing,
    releasingFor: w.releasingFor ?? null,
  });
}
