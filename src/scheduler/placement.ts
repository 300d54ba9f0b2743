import type { FleetState, NodeReservation, NodeState } from './fleet.js';
import { asksForGpus, isFractional } from './resources.js';
import type { ReplicaAllocation, ReplicaRequest, WorkloadBase } from './types.js';

/**
 * Which nodes to try for one replica, best first. Bin-pack and spread are the two built in; a
 * fragmentation-aware scorer is another implementation of this interface, nothing else changes.
 */
export interface PlacementScorer {
  candidates(fleet: FleetState, request: ReplicaRequest, model: string): Iterable<NodeState>;
  /** Orders the few nodes of one topology domain, best first. */
  rank(nodes: NodeState[], model: string): NodeState[];
}

/** Bin-pack pools are walked fewest-free-first, spread pools most-free-first; bin-pack pools first. */
export const bucketScorer: PlacementScorer = {
  *candidates(fleet, request, model) {
    const need = Math.max(1, isFractional(request) ? 1 : request.gpus);
    const top = fleet.largestFree(model);
    if (isFractional(request)) for (const node of fleet.nodesWithPartial(model)) if (node.policy === 'binpack') yield node;
    for (let k = need; k <= top; k++) for (const node of fleet.nodesWithFree(model, k)) if (node.policy === 'binpack') yield node;
    if (!fleet.hasSpreadNodes) return;
    for (let k = top; k >= need; k--) for (const node of fleet.nodesWithFree(model, k)) if (node.policy === 'spread') yield node;
    if (isFractional(request)) for (const node of fleet.nodesWithPartial(model)) if (node.policy === 'spread') yield node;
  },
  rank(nodes, model) {
    const free = (n: NodeState) => n.freeWhole.get(model) ?? 0;
    return [...nodes].sort((a, b) => (a.policy === 'spread' ? free(b) - free(a) : free(a) - free(b)));
  },
};

/** Why a workload did not fit on a model, for its explanation. */
export interface PlaceFailure {
  /** A reservation that would have been delayed had the workload taken a node. */
  reservation: NodeReservation | null;
  /** When a topology requirement bound: the label no value of which had room. */
  topology: string | null;
}

interface Taken {
  allocation: ReplicaAllocation;
  reservation: NodeReservation | null;
  took: number;
}

/**
 * Places every replica of `workload` on GPUs of `model`, or none: a gang that does not fit whole
 * leaves the fleet as it found it. A placement that would delay a backfill reservation is refused.
 */
export class Placer {
  constructor(
    private readonly fleet: FleetState,
    private readonly scorer: PlacementScorer,
    private readonly now: number,
  ) {}

  place(workload: WorkloadBase, model: string | null): ReplicaAllocation[] | PlaceFailure {
    const failure: PlaceFailure = { reservation: null, topology: null };
    if (model === null || !asksForGpus(workload.request)) return this.placeWithoutGpus(workload) ?? failure;
    const { required, preferred } = workload.topology;
    if (required !== null) {
      const placed = this.placeInDomains(workload, model, required, failure);
      if (placed === null) failure.topology = required;
      return placed ?? failure;
    }
    if (preferred !== null && workload.replicas > 1) {
      const placed = this.placeInDomains(workload, model, preferred, failure);
      if (placed) return placed;
    }
    return this.placeAnywhere(workload, model, null, failure) ?? failure;
  }

  /** Gives back what a placement took: for a tentative placement (a preemptor's, a consolidation's). */
  undo(allocations: ReplicaAllocation[], endAt: number): void {
    for (const a of allocations) this.fleet.apply(a, -1, endAt);
  }

  private placeWithoutGpus(workload: WorkloadBase): ReplicaAllocation[] | null {
    const taken: ReplicaAllocation[] = [];
    const endAt = this.endAt(workload);
    for (let r = 0; r < workload.replicas; r++) {
      let allocation: ReplicaAllocation | null = null;
      for (const node of this.fleet.nodes) {
        if (!node.schedulable) continue;
        allocation = node.fitsWithoutGpus(workload.request);
        if (allocation) break;
      }
      if (!allocation) {
        this.undo(taken, endAt);
        return null;
      }
      this.fleet.apply(allocation, 1, endAt);
      taken.push(allocation);
    }
    return taken;
  }

  private placeAnywhere(workload: WorkloadBase, model: string, within: NodeState[] | null, failure: PlaceFailure): ReplicaAllocation[] | null {
    const { request } = workload;
    if (!isFractional(request) && within === null) {
      if (this.fleet.largestFree(model) < request.gpus) return null;
      if (this.fleet.totalFree(model) < request.gpus * workload.replicas) return null;
    }
    const taken: Taken[] = [];
    for (let r = 0; r < workload.replicas; r++) {
      const step = this.takeOne(workload, model, within === null ? this.scorer.candidates(this.fleet, request, model) : this.scorer.rank(within, model), failure);
      if (!step) {
        this.release(taken, workload);
        return null;
      }
      taken.push(step);
    }
    return taken.map((t) => t.allocation);
  }

  private takeOne(workload: WorkloadBase, model: string, nodes: Iterable<NodeState>, failure: PlaceFailure): Taken | null {
    for (const node of nodes) {
      if (!node.schedulable) continue;
      const allocation = node.fit(workload.request, model);
      if (!allocation) continue;
      const reservation = node.reservation?.model === model ? node.reservation : null;
      const took = reservation ? this.wholeGpusTaken(node, allocation) : 0;
      if (reservation && !this.endsBefore(workload, reservation.at) && reservation.freeAt - took < reservation.gpus) {
        failure.reservation ??= reservation;
        continue;
      }
      // A long workload on a reserved node eats into what is free there at the reservation's start.
      const charged = reservation && !this.endsBefore(workload, reservation.at) ? took : 0;
      if (reservation) reservation.freeAt -= charged;
      this.fleet.apply(allocation, 1, this.endAt(workload));
      return { allocation, reservation, took: charged };
    }
    return null;
  }

  private release(taken: Taken[], workload: WorkloadBase): void {
    for (const t of taken) {
      if (t.reservation) t.reservation.freeAt += t.took;
      this.fleet.apply(t.allocation, -1, this.endAt(workload));
    }
  }

  /** Tries every value of `label` with room for the whole gang, tightest first for bin-pack. */
  private placeInDomains(workload: WorkloadBase, model: string, label: string, failure: PlaceFailure): ReplicaAllocation[] | null {
    const { request } = workload;
    const need = isFractional(request) ? 0 : request.gpus * workload.replicas;
    const domains = [...this.fleet.domains(label).values()]
      .map((nodes) => ({ nodes, free: nodes.reduce((sum, n) => sum + (n.schedulable ? (n.freeWhole.get(model) ?? 0) : 0), 0) }))
      .filter((d) => d.free >= need && d.free > 0);
    const spread = domains[0]?.nodes[0]?.policy === 'spread';
    domains.sort((a, b) => (spread ? b.free - a.free : a.free - b.free));
    for (const domain of domains) {
      const placed = this.placeAnywhere(workload, model, domain.nodes, failure);
      if (placed) return placed;
    }
    return null;
  }

  private wholeGpusTaken(node: NodeState, allocation: ReplicaAllocation): number {
    if (allocation.gpuFraction === null) return allocation.gpuIndices.length;
    // A share of a GPU nobody used yet takes a whole GPU away from the reservation.
    return node.gpus.find((g) => g.index === allocation.gpuIndices[0])?.used === 0 ? 1 : 0;
  }

  private endsBefore(workload: WorkloadBase, at: number): boolean {
    return workload.timeLimitMs !== null && this.now + workload.timeLimitMs <= at;
  }

  endAt(workload: WorkloadBase): number {
    return workload.timeLimitMs === null ? Infinity : this.now + workload.timeLimitMs;
  }
}
