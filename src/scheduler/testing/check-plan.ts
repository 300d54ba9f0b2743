/**
 * Checks a scheduler plan against the invariants every plan must keep, whatever the policy chose.
 * Pure and independent of the scheduler's code (it uses the simple model in `usage.ts`).
 *
 * Conventions it judges by (kept lenient where the contract leaves room):
 * - Resources of running workloads, releasing ones and victims preempted in this plan are NOT free
 *   in this cycle; a consolidation move's destination is taken now, its source stays held.
 * - Queue limits: usage after the plan = running (not releasing, not preempted now) + placements,
 *   summed over each queue's subtree; a limit is reported only where this plan added to that key.
 * - Backfill: a placement still running when a reservation starts may not take its reserved nodes'
 *   room, nor what its queue's limits (and its ancestors') leave it then.
 * - In-guarantee (for reclaim): the victim's queue's running workloads (releasing included) in
 *   order priority desc, startedAt asc (ties counted before), cumulative use per quota key; a
 *   workload is in-guarantee when, for every quota key it uses, the cumulative use fits in
 *   `guaranteed` (and it uses at least one such key).
 */
import type { PendingWorkload, Plan, ReplicaAllocation, RunningWorkload, SchedulerConfig, Snapshot, SnapshotNode, WorkloadBase } from '../types.js';
import {
  EPS,
  addAllocation,
  emptyUsage,
  fits,
  isFractional,
  modelAccepted,
  workloadCharge,
  type Usage,
} from './usage.js';

export type Rule =
  | 'placement'
  | 'allocation'
  | 'gpu-overallocated'
  | 'cpu-memory'
  | 'queue-limit'
  | 'victim'
  | 'protected'
  | 'in-guarantee'
  | 'preemptor-fit'
  | 'topology'
  | 'explanation'
  | 'reservation'
  | 'backfill'
  | 'move';

export interface Violation {
  rule: Rule;
  message: string;
}

/** Every violated invariant as `rule: message`; empty when the plan is sound. */
export function checkPlan(snapshot: Snapshot, config: SchedulerConfig, now: number, plan: Plan): string[] {
  return checkPlanDetailed(snapshot, config, now, plan).map((v) => `${v.rule}: ${v.message}`);
}

export function checkPlanDetailed(snapshot: Snapshot, config: SchedulerConfig, now: number, plan: Plan): Violation[] {
  const out: Violation[] = [];
  const report = (rule: Rule, message: string) => out.push({ rule, message });

  const nodes = new Map(snapshot.nodes.map((n) => [n.id, n]));
  const nodeName = (id: string) => nodes.get(id)?.name ?? id;
  const pendingById = new Map(snapshot.pending.map((w) => [w.id, w]));
  const runningById = new Map(snapshot.running.map((w) => [w.id, w]));
  const queues = new Map(snapshot.queues.map((q) => [q.id, q]));
  const name = (id: string) => pendingById.get(id)?.name ?? runningById.get(id)?.name ?? id;

  // ---- placements: references and shapes ----
  const placed = new Map<string, ReplicaAllocation[]>();
  for (const p of plan.placements) {
    const w = pendingById.get(p.workloadId);
    if (!w) {
      report('placement', `placement for ${name(p.workloadId)}, which is not a pending workload`);
      continue;
    }
    if (placed.has(w.id)) {
      report('placement', `${w.name} is placed more than once`);
      continue;
    }
    placed.set(w.id, p.allocations);
    if (p.allocations.length !== w.replicas) {
      report('placement', `${w.name} asks for ${w.replicas} replicas (a gang: all or none) but got ${p.allocations.length} allocations`);
    }
    p.allocations.forEach((a, i) => checkAllocation(w, a, `${w.name} replica ${i}`, nodes, report, true));
    checkTopology(w, p.allocations, nodes, report);
  }

  // ---- preemptions ----
  const victims = new Map<string, RunningWorkload>();
  const victimsFor = new Map<string, RunningWorkload[]>();
  const movedIds = new Set(plan.moves.map((m) => m.workloadId));
  for (const pre of plan.preemptions) {
    const v = runningById.get(pre.workloadId);
    if (!v) {
      report('victim', `${pre.kind} of ${name(pre.workloadId)}, which is not a running workload`);
      continue;
    }
    if (victims.has(v.id)) {
      report('victim', `${v.name} is preempted more than once`);
      continue;
    }
    victims.set(v.id, v);
    if (v.releasing) report('victim', `${v.name} is preempted although it is already releasing`);
    if (placed.has(pre.forWorkloadId) && pre.kind !== 'consolidate') {
      report('preemptor-fit', `${v.name} is preempted for ${name(pre.forWorkloadId)}, which this plan places anyway`);
    }
    const p = pendingById.get(pre.forWorkloadId);
    if (!p) {
      report('victim', `${v.name} is preempted for ${name(pre.forWorkloadId)}, which is not a pending workload`);
      continue;
    }
    const list = victimsFor.get(p.id) ?? [];
    list.push(v);
    victimsFor.set(p.id, list);
    if (pre.kind === 'consolidate') {
      if (!movedIds.has(v.id) && !v.preemptible) report('protected', `${v.name} is not preemptible but is stopped for consolidation`);
      continue;
    }
    if (!v.preemptible) report('protected', `${v.name} is not preemptible but is ${pre.kind}ed for ${p.name}`);
    if (now - v.startedAt < config.minRuntimeMs) {
      report('protected', `${v.name} started ${now - v.startedAt} ms ago (< minRuntimeMs ${config.minRuntimeMs}) but is ${pre.kind}ed for ${p.name}`);
    }
    if (pre.kind === 'preempt') {
      if (v.queueId !== p.queueId) report('victim', `preempt (within a queue) of ${v.name} in queue ${v.queueId} for ${p.name} in queue ${p.queueId}`);
      if (!(v.priority < p.priority)) report('victim', `${v.name} (priority ${v.priority}) is preempted for ${p.name} (priority ${p.priority}), which is not strictly higher`);
    } else if (pre.kind === 'reclaim') {
      if (v.queueId === p.queueId) report('victim', `reclaim of ${v.name} for ${p.name}, both in queue ${v.queueId} (reclaim moves resources between queues)`);
    }
  }

  for (const message of reclaimedIntoGuarantee(snapshot, plan)) report('in-guarantee', message);

  // ---- moves ----
  if (plan.moves.length > 0 && config.consolidation === 'off') report('move', `consolidation is off but the plan has ${plan.moves.length} moves`);
  const moveSeen = new Set<string>();
  for (const m of plan.moves) {
    const w = runningById.get(m.workloadId);
    if (!w) {
      report('move', `move of ${name(m.workloadId)}, which is not a running workload`);
      continue;
    }
    if (moveSeen.has(w.id)) report('move', `${w.name} is moved more than once`);
    moveSeen.add(w.id);
    if (!w.preemptible) report('move', `${w.name} is not preemptible but is moved`);
    if (w.replicas !== 1) report('move', `${w.name} has ${w.replicas} replicas but is moved (only single-replica workloads move)`);
    if (w.releasing) report('move', `${w.name} is releasing but is moved`);
    if (victims.has(w.id) && plan.preemptions.find((p) => p.workloadId === w.id)?.kind !== 'consolidate') {
      report('move', `${w.name} is both moved and preempted`);
    }
    if (!pendingById.has(m.forWorkloadId)) report('move', `${w.name} is moved for ${name(m.forWorkloadId)}, which is not a pending workload`);
    if (m.to.length !== w.replicas) report('move', `${w.name} is moved to ${m.to.length} allocations, it has ${w.replicas} replicas`);
    m.to.forEach((a, i) => checkAllocation(w, a, `${w.name} (moved) replica ${i}`, nodes, report, true));
  }

  // ---- GPU, cpu and memory capacity: running (all, victims included) + placements + move targets ----
  const usage = emptyUsage(snapshot.nodes);
  for (const w of snapshot.running) for (const a of w.allocations) addAllocation(usage, w.name, a);
  const touched = new Map<string, Set<number>>();
  const touch = (a: ReplicaAllocation) => {
    const set = touched.get(a.nodeId) ?? new Set<number>();
    for (const i of a.gpuIndices) set.add(i);
    touched.set(a.nodeId, set);
  };
  for (const [id, allocs] of placed) {
    for (const a of allocs) {
      addAllocation(usage, name(id), a);
      touch(a);
    }
  }
  for (const m of plan.moves) {
    for (const a of m.to) {
      addAllocation(usage, `${name(m.workloadId)} (moved)`, a);
      touch(a);
    }
  }
  for (const [nodeId, indices] of touched) {
    const state = usage.get(nodeId);
    if (!state) continue;
    for (const index of indices) {
      const gpu = state.gpus.get(index);
      if (!gpu) continue;
      const where = `GPU ${index} on ${state.node.name}`;
      if (gpu.whole > 1) report('gpu-overallocated', `${where} is held whole ${gpu.whole} times (by ${gpu.holders.join(', ')})`);
      else if (gpu.whole === 1 && gpu.share > EPS) report('gpu-overallocated', `${where} is held whole and in shares (by ${gpu.holders.join(', ')})`);
      else if (gpu.share > 1 + EPS) report('gpu-overallocated', `${where} has shares summing to ${round(gpu.share)} > 1 (by ${gpu.holders.join(', ')})`);
    }
    if (state.node.cpus > 0 && state.cpus > state.node.cpus + EPS) {
      report('cpu-memory', `${state.node.name} has ${state.node.cpus} cores but ${round(state.cpus)} are allocated`);
    }
    if (state.node.memoryMiB > 0 && state.memoryMiB > state.node.memoryMiB + EPS) {
      report('cpu-memory', `${state.node.name} has ${state.node.memoryMiB} MiB but ${round(state.memoryMiB)} are allocated`);
    }
  }

  // ---- queue limits (queue and every ancestor) ----
  const after = new Map<string, Map<string, number>>(); // queue id -> key -> use (own workloads only)
  const added = new Map<string, Set<string>>(); // queue id -> keys this plan added
  const charge = (queueId: string, allocs: readonly ReplicaAllocation[], sign: number, mark: boolean) => {
    const m = after.get(queueId) ?? new Map<string, number>();
    after.set(queueId, m);
    for (const [k, v] of workloadCharge(allocs)) {
      m.set(k, (m.get(k) ?? 0) + sign * v);
      if (mark && v > 0) {
        const s = added.get(queueId) ?? new Set<string>();
        s.add(k);
        added.set(queueId, s);
      }
    }
  };
  for (const w of snapshot.running) if (!w.releasing && !victims.has(w.id)) charge(w.queueId, w.allocations, 1, false);
  for (const [id, allocs] of placed) charge(pendingById.get(id)!.queueId, allocs, 1, true);
  const ancestors = (queueId: string): string[] => {
    const chain: string[] = [];
    let q = queues.get(queueId);
    const seen = new Set<string>();
    while (q && !seen.has(q.id)) {
      seen.add(q.id);
      chain.push(q.id);
      q = q.parentId === null ? undefined : queues.get(q.parentId);
    }
    return chain;
  };
  const subtreeUse = new Map<string, Map<string, number>>();
  const subtreeAdded = new Map<string, Set<string>>();
  for (const [queueId, m] of after) {
    for (const anc of ancestors(queueId)) {
      const s = subtreeUse.get(anc) ?? new Map<string, number>();
      subtreeUse.set(anc, s);
      for (const [k, v] of m) s.set(k, (s.get(k) ?? 0) + v);
      for (const k of added.get(queueId) ?? []) {
        const a = subtreeAdded.get(anc) ?? new Set<string>();
        a.add(k);
        subtreeAdded.set(anc, a);
      }
    }
  }
  for (const [queueId, keys] of subtreeAdded) {
    const q = queues.get(queueId);
    if (!q) continue;
    for (const quota of q.quotas) {
      if (quota.limit === null || !keys.has(quota.resource)) continue;
      const use = subtreeUse.get(queueId)?.get(quota.resource) ?? 0;
      if (use > quota.limit + EPS) report('queue-limit', `queue ${q.name} would use ${round(use)} ${quota.resource}, over its limit of ${quota.limit}`);
    }
  }
  for (const [id] of placed) {
    if (!queues.has(pendingById.get(id)!.queueId)) report('placement', `${name(id)} is placed but its queue does not exist`);
  }

  // ---- victims make their preemptor fit (once victims and releasing workloads are gone) ----
  if (victimsFor.size > 0) {
    const freed = emptyUsage(snapshot.nodes);
    for (const w of snapshot.running) {
      if (w.releasing || victims.has(w.id) || movedIds.has(w.id)) continue;
      for (const a of w.allocations) addAllocation(freed, w.name, a);
    }
    for (const [id, allocs] of placed) for (const a of allocs) addAllocation(freed, name(id), a);
    for (const m of plan.moves) for (const a of m.to) addAllocation(freed, name(m.workloadId), a);
    const schedulable = snapshot.nodes.filter((n) => n.schedulable);
    for (const [id, vs] of victimsFor) {
      const p = pendingById.get(id)!;
      if (placed.has(id)) continue;
      if (!fits(p, schedulable, freed)) {
        report('preemptor-fit', `${vs.map((v) => v.name).join(', ')} are stopped for ${p.name}, which still does not fit once they end`);
      }
    }
  }

  // ---- explanations ----
  const explained = new Map<string, number>();
  for (const e of plan.pending) {
    explained.set(e.workloadId, (explained.get(e.workloadId) ?? 0) + 1);
    if (!pendingById.has(e.workloadId)) report('explanation', `explanation for ${name(e.workloadId)}, which is not a pending workload`);
    else if (placed.has(e.workloadId)) report('explanation', `${name(e.workloadId)} is placed but also explained as pending`);
  }
  for (const w of snapshot.pending) {
    if (placed.has(w.id)) continue;
    const count = explained.get(w.id) ?? 0;
    if (count === 0) report('explanation', `${w.name} stays pending without an explanation`);
    else if (count > 1) report('explanation', `${w.name} is explained ${count} times`);
    const e = plan.pending.find((x) => x.workloadId === w.id);
    if (e && (e.reasons.length === 0 || e.reasons.some((r) => typeof r !== 'string' || r.trim() === ''))) {
      report('explanation', `${w.name} stays pending with an empty reason list or an empty reason`);
    }
  }

  // ---- reservations and backfill ----
  if (plan.reservations.length > config.reservations) {
    report('reservation', `${plan.reservations.length} reservations, more than config.reservations = ${config.reservations}`);
  }
  const reservedSeen = new Set<string>();
  for (const r of plan.reservations) {
    const w = pendingById.get(r.workloadId);
    if (!w) {
      report('reservation', `reservation for ${name(r.workloadId)}, which is not a pending workload`);
      continue;
    }
    if (reservedSeen.has(w.id)) report('reservation', `${w.name} has more than one reservation`);
    reservedSeen.add(w.id);
    if (placed.has(w.id)) report('reservation', `${w.name} is placed and also reserved`);
    if (r.at < now) report('reservation', `${w.name} is reserved at ${r.at}, before now (${now})`);
    if (r.nodeIds.length === 0) report('reservation', `${w.name} is reserved on no node`);
    const resNodes: SnapshotNode[] = [];
    for (const id of r.nodeIds) {
      const n = nodes.get(id);
      if (!n) report('reservation', `${w.name} is reserved on unknown node ${id}`);
      else resNodes.push(n);
    }
    if (resNodes.length === 0) continue;
    // State at `at`: what still runs then, without and with this plan's placements and moves.
    const runsAt = (startedAt: number, limit: number | null) => limit === null || startedAt + limit > r.at;
    const base = emptyUsage(snapshot.nodes);
    for (const v of snapshot.running) {
      if (v.releasing || victims.has(v.id) || movedIds.has(v.id) || !runsAt(v.startedAt, v.timeLimitMs)) continue;
      for (const a of v.allocations) addAllocation(base, v.name, a);
    }
    if (!fits(w, resNodes, base, { sameModel: true })) continue; // not ours to judge: the reservation does not hold even without this plan
    const withPlan = base;
    const culprits: string[] = [];
    const resIds = new Set(r.nodeIds);
    for (const [id, allocs] of placed) {
      const p = pendingById.get(id)!;
      if (!runsAt(now, p.timeLimitMs) || !allocs.some((a) => resIds.has(a.nodeId))) continue;
      for (const a of allocs) addAllocation(withPlan, p.name, a);
      culprits.push(p.name);
    }
    for (const m of plan.moves) {
      const mw = runningById.get(m.workloadId);
      if (!mw || !runsAt(now, mw.timeLimitMs) || !m.to.some((a) => resIds.has(a.nodeId))) continue;
      for (const a of m.to) addAllocation(withPlan, mw.name, a);
      culprits.push(`${mw.name} (moved)`);
    }
    if (culprits.length > 0 && !fits(w, resNodes, withPlan)) {
      report(
        'backfill',
        `${culprits.join(', ')} placed on ${w.name}'s reserved nodes (${r.nodeIds.map(nodeName).join(', ')}) and still running at ${r.at}, so ${w.name} no longer fits then`,
      );
    }
    // Nor may this plan's placements that still run then take the room its queues' limits leave it.
    const model = resNodes[0]!.gpus[0]?.model ?? null;
    const own = Array.from({ length: w.replicas }, (): ReplicaAllocation => ({ nodeId: resNodes[0]!.id, gpuIndices: Array.from({ length: w.request.gpus }, (_, i) => i), gpuFraction: null, gpuModel: model, cpus: w.request.cpus, memoryMiB: w.request.memoryMiB }));
    const useAt = (withPlacements: boolean) => {
      const use = new Map<string, Map<string, number>>();
      const add = (queueId: string, allocs: readonly ReplicaAllocation[]) => {
        for (const anc of ancestors(queueId)) {
          const m = use.get(anc) ?? new Map<string, number>();
          use.set(anc, m);
          for (const [k, v] of workloadCharge(allocs)) m.set(k, (m.get(k) ?? 0) + v);
        }
      };
      for (const v of snapshot.running) if (!v.releasing && !victims.has(v.id) && runsAt(v.startedAt, v.timeLimitMs)) add(v.queueId, v.allocations);
      const late: string[] = [];
      if (withPlacements)
        for (const [id, allocs] of placed) {
          const p = pendingById.get(id)!;
          if (!runsAt(now, p.timeLimitMs)) continue;
          add(p.queueId, allocs);
          late.push(p.name);
        }
      add(w.queueId, own);
      return { use, late };
    };
    const overLimit = (use: Map<string, Map<string, number>>) =>
      ancestors(w.queueId).some((id) => (queues.get(id)?.quotas ?? []).some((quota) => quota.limit !== null && (use.get(id)?.get(quota.resource) ?? 0) > quota.limit + EPS));
    if (!overLimit(useAt(false).use)) {
      const { use, late } = useAt(true);
      if (overLimit(use)) report('backfill', `${late.join(', ')} placed and still running at ${r.at} take what ${w.name}'s queue limits leave it then`);
    }
  }

  return out;
}

function checkAllocation(
  w: WorkloadBase,
  a: ReplicaAllocation,
  what: string,
  nodes: Map<string, SnapshotNode>,
  report: (rule: Rule, message: string) => void,
  fresh: boolean,
): void {
  const node = nodes.get(a.nodeId);
  if (!node) {
    report('allocation', `${what} is on unknown node ${a.nodeId}`);
    return;
  }
  if (fresh && !node.schedulable) report('allocation', `${what} is on ${node.name}, which is not schedulable`);
  if (a.cpus + EPS < w.request.cpus) report('allocation', `${what} holds ${a.cpus} cores, asks ${w.request.cpus}`);
  if (a.memoryMiB + EPS < w.request.memoryMiB) report('allocation', `${what} holds ${a.memoryMiB} MiB, asks ${w.request.memoryMiB}`);
  if (new Set(a.gpuIndices).size !== a.gpuIndices.length) report('allocation', `${what} lists a GPU twice: [${a.gpuIndices.join(', ')}]`);
  const gpus = a.gpuIndices.map((i) => node.gpus.find((g) => g.index === i));
  a.gpuIndices.forEach((i, k) => {
    if (!gpus[k]) report('allocation', `${what} holds GPU ${i}, which ${node.name} does not have`);
  });
  for (const g of gpus) {
    if (!g) continue;
    if (!modelAccepted(w, g.model)) report('allocation', `${what} holds a ${g.model}, not one of ${w.gpuModels?.join(', ')}`);
    if (a.gpuModel !== null && g.model !== a.gpuModel) report('allocation', `${what} says model ${a.gpuModel} but GPU ${g.index} is a ${g.model}`);
  }
  if (isFractional(w)) {
    if (a.gpuIndices.length !== 1 || a.gpuFraction === null) {
      report('allocation', `${what} asks for a share of one GPU but holds ${a.gpuIndices.length} GPUs with fraction ${a.gpuFraction}`);
      return;
    }
    const g = gpus[0];
    if (!(a.gpuFraction > 0 && a.gpuFraction <= 1 + EPS)) report('allocation', `${what} holds a share of ${a.gpuFraction}`);
    const need = w.request.gpuFraction ?? (g && g.memoryMiB > 0 ? (w.request.gpuMemoryMiB ?? 0) / g.memoryMiB : Number.POSITIVE_INFINITY);
    if (a.gpuFraction + EPS < need) report('allocation', `${what} holds a share of ${round(a.gpuFraction)}, needs ${round(need)}`);
  } else {
    if (a.gpuFraction !== null) report('allocation', `${what} asks for whole GPUs but holds a share of ${a.gpuFraction}`);
    if (a.gpuIndices.length !== w.request.gpus) report('allocation', `${what} holds ${a.gpuIndices.length} GPUs, asks ${w.request.gpus}`);
  }
}

function checkTopology(w: PendingWorkload, allocs: readonly ReplicaAllocation[], nodes: Map<string, SnapshotNode>, report: (rule: Rule, message: string) => void) {
  const key = w.topology.required;
  if (key === null || allocs.length === 0) return;
  const values = new Set<string>();
  for (const a of allocs) {
    const node = nodes.get(a.nodeId);
    if (!node) continue;
    const value = key === 'node' ? node.id : node.labels[key];
    if (value === undefined) report('topology', `${w.name} requires one ${key} but a replica is on ${node.name}, which has no ${key} label`);
    else values.add(value);
  }
  if (values.size > 1) {
    const where = key === 'node' ? 'nodes' : `values of ${key}`;
    report('topology', `${w.name} requires one ${key} but spans ${where} ${[...values].sort().join(', ')}`);
  }
}

/** Whether `v` runs within its own queue's guaranteed quota (see the module comment for the rule). */
/**
 * Reclaim takes only what a queue runs beyond its guaranteed quota: after every reclaim of a plan,
 * each victim's queue (with its children, counting what the plan starts there) still uses at least
 * its guarantee on every resource it names one for. Returns one message per queue and resource where it would not.
 */
export function reclaimedIntoGuarantee(snapshot: Snapshot, plan: Plan): string[] {
  const queues = new Map(snapshot.queues.map((q) => [q.id, q]));
  const within = (queueId: string, ancestor: string): boolean => {
    for (let q = queues.get(queueId); q; q = q.parentId === null ? undefined : queues.get(q.parentId)) if (q.id === ancestor) return true;
    return false;
  };
  const reclaimed = new Set(plan.preemptions.filter((p) => p.kind === 'reclaim').map((p) => p.workloadId));
  const victims = snapshot.running.filter((r) => reclaimed.has(r.id));
  const pendingById = new Map(snapshot.pending.map((w) => [w.id, w]));
  const messages: string[] = [];
  for (const queueId of new Set(victims.map((v) => v.queueId))) {
    const queue = queues.get(queueId);
    if (!queue) continue;
    const before = new Map<string, number>();
    const taken = new Map<string, number>();
    for (const r of snapshot.running) {
      if (r.releasing || !within(r.queueId, queueId)) continue;
      for (const [k, amount] of workloadCharge(r.allocations)) {
        before.set(k, (before.get(k) ?? 0) + amount);
        if (reclaimed.has(r.id)) taken.set(k, (taken.get(k) ?? 0) + amount);
      }
    }
    // What the plan starts in the queue counts towards its guarantee too.
    for (const placement of plan.placements) {
      const w = pendingById.get(placement.workloadId);
      if (!w || !within(w.queueId, queueId)) continue;
      for (const [k, amount] of workloadCharge(placement.allocations)) before.set(k, (before.get(k) ?? 0) + amount);
    }
    for (const quota of queue.quotas) {
      const after = (before.get(quota.resource) ?? 0) - (taken.get(quota.resource) ?? 0);
      if ((taken.get(quota.resource) ?? 0) > EPS && after < quota.guaranteed - EPS)
        messages.push(`reclaim leaves queue ${queue.name} with ${after} ${quota.resource}, below its guaranteed ${quota.guaranteed}`);
    }
  }
  return messages;
}

// ---------------------------------------------------------------------------------------------

export interface ApplyOptions {
  /** `requeue` (default): victims are gone and pending again; `releasing`: victims still hold their resources. */
  victims?: 'requeue' | 'releasing';
  /** Carry out consolidation moves (default true). */
  moves?: boolean;
}

/**
 * The snapshot after `plan`: placements run from `now`, victims are requeued (or left releasing),
 * moved workloads restart at their destination. Queues are unchanged. Does not modify its inputs.
 */
export function applyPlan(snapshot: Snapshot, plan: Plan, now: number, options: ApplyOptions = {}): Snapshot {
  const next: Snapshot = structuredClone(snapshot);
  const mode = options.victims ?? 'requeue';
  const moves = new Map((options.moves ?? true) ? plan.moves.map((m) => [m.workloadId, m]) : []);
  const placed = new Map(plan.placements.map((p) => [p.workloadId, p]));
  const victims = new Set(plan.preemptions.map((p) => p.workloadId).filter((id) => !moves.has(id)));

  const running: RunningWorkload[] = [];
  const requeued: PendingWorkload[] = [];
  for (const w of next.running) {
    const move = moves.get(w.id);
    if (move) running.push({ ...w, allocations: structuredClone(move.to), startedAt: now, releasing: false });
    else if (!victims.has(w.id)) running.push(w);
    else if (mode === 'releasing') running.push({ ...w, releasing: true, releasingFor: plan.preemptions.find((p) => p.workloadId === w.id)?.forWorkloadId ?? null });
    else {
      const { startedAt: _s, allocations: _a, releasing: _r, ...base } = w;
      requeued.push(base);
    }
  }
  const pending: PendingWorkload[] = [];
  // As the control plane records it: work was stopped for a preemptor, which keeps the claim until it starts.
  const claimants = new Set([...plan.preemptions, ...moves.values()].map((p) => p.forWorkloadId));
  for (const w of next.pending) {
    const p = placed.get(w.id);
    if (p) {
      const { claimedAt: _c, ...base } = w;
      running.push({ ...base, startedAt: now, allocations: structuredClone(p.allocations), releasing: false });
    } else pending.push(claimants.has(w.id) ? { ...w, claimedAt: now } : w);
  }
  next.running = running;
  next.pending = [...pending, ...requeued];
  return next;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** A short readable rendering of a plan (node names, not ids), for failure messages. */
export function describePlan(snapshot: Snapshot, plan: Plan): string {
  const nodes = new Map(snapshot.nodes.map((n) => [n.id, n.name]));
  const names = new Map([...snapshot.pending, ...snapshot.running].map((w) => [w.id, w.name]));
  const n = (id: string) => names.get(id) ?? id;
  const alloc = (a: ReplicaAllocation) =>
    `${nodes.get(a.nodeId) ?? a.nodeId}[${a.gpuIndices.join(',')}${a.gpuFraction !== null ? `@${round(a.gpuFraction)}` : ''}]`;
  const lines: string[] = [];
  for (const p of plan.placements) lines.push(`  place ${n(p.workloadId)} on ${p.allocations.map(alloc).join(' ')}`);
  for (const p of plan.preemptions) lines.push(`  ${p.kind} ${n(p.workloadId)} for ${n(p.forWorkloadId)}: ${p.reason}`);
  for (const m of plan.moves) lines.push(`  move ${n(m.workloadId)} to ${m.to.map(alloc).join(' ')} for ${n(m.forWorkloadId)}`);
  for (const r of plan.reservations) lines.push(`  reserve ${r.nodeIds.map((id) => nodes.get(id) ?? id).join(',')} at ${r.at} for ${n(r.workloadId)}`);
  for (const e of plan.pending) lines.push(`  pending ${n(e.workloadId)}: ${e.reasons.join(' | ')}`);
  return lines.length === 0 ? '  (empty plan)' : lines.join('\n');
}

/** Whether the usage model sees `w` fitting on the schedulable nodes right now (exported for tests). */
export function fitsNow(w: WorkloadBase, snapshot: Snapshot): boolean {
  const usage: Usage = emptyUsage(snapshot.nodes);
  for (const r of snapshot.running) for (const a of r.allocations) addAllocation(usage, r.id, a);
  return fits(w, snapshot.nodes.filter((n) => n.schedulable), usage);
}


/** A compact readable rendering of a scheduler input, for failure messages. */
export function describeInput(snapshot: Snapshot, config: SchedulerConfig, now: number): string {
  const lines: string[] = [];
  const t = (ms: number) => `${ms - now >= 0 ? '+' : ''}${Math.round((ms - now) / 1000)}s`;
  lines.push(
    `  config: ${config.placement.default} pools=${JSON.stringify(config.placement.pools)} usageWeight=${config.usageWeight} minRuntimeMs=${config.minRuntimeMs} reservations=${config.reservations} consolidation=${config.consolidation} overtakeAfterMs=${config.overtakeAfterMs}`,
  );
  for (const n of snapshot.nodes) {
    const models = new Map<string, number>();
    for (const g of n.gpus) models.set(g.model, (models.get(g.model) ?? 0) + 1);
    const gpus = [...models].map(([m, c]) => `${c}x${m}`).join('+') || 'no GPUs';
    lines.push(
      `  node ${n.name}: ${gpus} cpus=${n.cpus} mem=${n.memoryMiB}${n.schedulable ? '' : ' UNSCHEDULABLE'} ${Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(',')}`,
    );
  }
  for (const q of snapshot.queues) {
    const quotas = q.quotas
      .map((x) => `${x.resource}{g=${x.guaranteed}${x.limit === null ? '' : ` lim=${x.limit}`} w=${x.overQuotaWeight}${x.lendingLimit === null ? '' : ` lend=${x.lendingLimit}`}}`)
      .join(' ');
    lines.push(`  queue ${q.name}${q.parentId ? ` (in ${q.parentId})` : ''} prio=${q.priority} ${quotas} usage=${JSON.stringify(q.decayedUsage)}`);
  }
  const nodeName = new Map(snapshot.nodes.map((n) => [n.id, n.name]));
  const shape = (w: WorkloadBase) => {
    const r = w.request;
    const gpu = r.gpuFraction !== null ? `${r.gpuFraction} GPU` : r.gpuMemoryMiB !== null ? `${r.gpuMemoryMiB}MiB GPU` : `${r.gpus} GPU`;
    const parts = [`${w.replicas}x(${gpu}, ${r.cpus} cpu, ${r.memoryMiB} MiB)`, `q=${w.queueId}`, `prio=${w.priority}`];
    if (!w.preemptible) parts.push('NON-PREEMPTIBLE');
    if (w.gpuModels) parts.push(`models=${w.gpuModels.join('|')}`);
    if (w.topology.required) parts.push(`required=${w.topology.required}`);
    if (w.topology.preferred) parts.push(`preferred=${w.topology.preferred}`);
    if (w.timeLimitMs !== null) parts.push(`limit=${w.timeLimitMs / 1000}s`);
    return parts.join(' ');
  };
  for (const r of snapshot.running) {
    const where = r.allocations
      .map((a) => `${nodeName.get(a.nodeId) ?? a.nodeId}[${a.gpuIndices.join(',')}${a.gpuFraction !== null ? `@${round(a.gpuFraction)}` : ''}]`)
      .join(' ');
    lines.push(`  running ${r.name}: ${shape(r)} started=${t(r.startedAt)} on ${where}${r.releasing ? ' RELEASING' : ''}`);
  }
  for (const p of snapshot.pending) lines.push(`  pending ${p.name}: ${shape(p)} submitted=${t(p.submittedAt)}${p.claimedAt != null ? ` CLAIMED=${t(p.claimedAt)}` : ''}`);
  return lines.join('\n');
}
