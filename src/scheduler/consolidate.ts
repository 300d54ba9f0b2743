import { quotaBlock } from './allocate.js';
import { movable, note, type Cycle, type PendingState, type RunningState } from './cycle.js';
import type { NodeState } from './fleet.js';
import { bucketScorer, Placer } from './placement.js';
import { isFractional, workloadAmounts } from './resources.js';
import type { Move, ReplicaAllocation } from './types.js';

/**
 * Consolidation for one workload, the least disruptive way to make room: a gang (or a multi-GPU
 * workload) blocked only by fragmentation — enough GPUs of its model are free, just not together —
 * gets nodes freed for it by moving preemptible single-replica workloads elsewhere. Moves are all
 * or nothing; the moved workloads keep their place until they stop, and their destinations are
 * held for them in this cycle. Returns whether it found moves, and false when it did not try.
 */
export function consolidateFor(cycle: Cycle, p: PendingState): boolean {
  if (cycle.config.consolidation === 'off') return false;
  const { request, replicas, topology } = p.source;
  if (isFractional(request) || request.gpus === 0 || topology.required !== null) return false;
  if (replicas === 1 && request.gpus === 1) return false;
  const misses = missesOf(cycle);
  for (const model of cycle.modelsFor(p.source)) {
    if (model === null || cycle.fleet.totalFree(model) < request.gpus * replicas) continue;
    // A search that found no moves finds none again for the same need while the fleet is as it left it.
    if (quotaBlock(cycle, p.queue!, workloadAmounts(p.source, model, cycle.memoryOf(model)), p) !== null) continue;
    const need = `${model}|${request.gpus}|${replicas}`;
    if (misses.get(need) === cycle.fleet.version) continue;
    const moves = planMoves(cycle, p, model);
    // No moves needed means what blocks it is not fragmentation (a backfill reservation, room held for a claimant): moving nothing would leave it waiting for nothing.
    if (!moves || moves.length === 0) {
      misses.set(need, cycle.fleet.version);
      continue;
    }
    cycle.plan.moves.push(...moves);
    note(p, 'waiting', `waiting for consolidation: ${moves.length} workload(s) move to free whole nodes for it`);
    return true;
  }
  return false;
}

/** Per cycle, the needs (model, GPUs per replica, replicas) whose search found no moves, with the fleet's version after it. */
const missesByCycle = new WeakMap<Cycle, Map<string, number>>();

function missesOf(cycle: Cycle): Map<string, number> {
  let misses = missesByCycle.get(cycle);
  if (!misses) missesByCycle.set(cycle, (misses = new Map()));
  return misses;
}

interface Planned {
  mover: RunningState;
  to: ReplicaAllocation[];
}

function planMoves(cycle: Cycle, p: PendingState, model: string): Move[] | null {
  const need = p.source.request.gpus;
  const slots = (node: NodeState) => Math.floor((node.freeWhole.get(model) ?? 0) / need);
  let missing = p.source.replicas - cycle.fleet.nodes.reduce((sum, n) => sum + (n.schedulable ? slots(n) : 0), 0);
  const freed = new Set<NodeState>();
  const planned: Planned[] = [];
  // Nodes nearest to a free slot first: they need the fewest moves.
  const candidates = cycle.fleet.nodes
    .filter((n) => n.schedulable && n.byModel.has(model) && slots(n) === 0)
    .sort((a, b) => (b.freeWhole.get(model) ?? 0) - (a.freeWhole.get(model) ?? 0));
  for (const node of candidates) {
    if (missing <= 0) break;
    const movers = cycle
      .holdersOn(node)
      .filter((r) => r.tentative === null && r.source.replicas === 1 && movable(r) && r.source.allocations.every((a) => a.gpuFraction === null))
      .sort((a, b) => (a.amounts.gpu ?? 0) - (b.amounts.gpu ?? 0));
    const here: Planned[] = [];
    for (const mover of movers) {
      if (slots(node) > 0) break;
      cycle.occupy(mover, -1);
      const to = destination(cycle, mover, new Set([...freed, node]));
      if (!to) {
        cycle.occupy(mover, 1);
        break;
      }
      here.push({ mover, to });
    }
    if (slots(node) > 0) {
      freed.add(node);
      missing -= slots(node);
      planned.push(...here);
    } else undoMoves(cycle, here);
  }
  if (missing > 0) {
    undoMoves(cycle, planned);
    return null;
  }
  // Moved workloads still run where they are until they stop; their destinations stay held.
  for (const { mover } of planned) {
    cycle.occupy(mover, 1);
    mover.evicted = true;
  }
  return planned.map(({ mover, to }) => ({ workloadId: mover.source.id, forWorkloadId: p.source.id, to }));
}

/**
 * Where `mover` would go, never onto a node being freed; the place is taken in the fleet. Movers
 * are bin-packed whatever the pools' placement: a fragmentation-aware scorer would spread them over
 * the other nodes that consolidation may want to free next, where packing them onto the fullest
 * nodes frees the most whole ones.
 */
function destination(cycle: Cycle, mover: RunningState, avoid: Set<NodeState>): ReplicaAllocation[] | null {
  const model = mover.source.allocations[0]?.gpuModel ?? null;
  // Nodes being freed are hidden from the placer by marking them unschedulable for this search.
  const hidden = [...avoid].filter((n) => n.schedulable);
  for (const n of hidden) cycle.fleet.setSchedulable(n, false);
  const placed = new Placer(cycle.fleet, bucketScorer, cycle.now).place({ ...mover.source, topology: { required: null, preferred: null } }, model);
  for (const n of hidden) cycle.fleet.setSchedulable(n, true);
  return Array.isArray(placed) ? placed : null;
}

function undoMoves(cycle: Cycle, planned: Planned[]): void {
  for (const { mover, to } of planned.reverse()) {
    cycle.placer.undo(to, cycle.placer.endAt(mover.source));
    cycle.occupy(mover, 1);
  }
}
