import { NodeState, type FleetState, type NodeReservation } from './fleet.js';
import { EPSILON, asksForGpus, isFractional } from './resources.js';
import type { ReplicaAllocation, ReplicaRequest, WorkloadBase } from './types.js';

/**
 * Which nodes to try for one replica, best first. Bin-pack and spread are the two built in; a
 * fragmentation-aware scorer is another implementation of this interface, nothing else changes.
 */
export interface PlacementScorer {
  candidates(fleet: FleetState, request: ReplicaRequest, model: string): Iterable<NodeState>;
  /** Orders the few nodes of one topology domain, best first. */
  rank(nodes: NodeState[], model: string): NodeState[];
  /** Nodes to try for a replica without GPUs, best first; without it, the fleet's nodes in name order. */
  candidatesWithoutGpus?(fleet: FleetState, request: ReplicaRequest): Iterable<NodeState>;
  /** The GPUs a candidate node gives the replica; without it, `NodeState.fit` (whole GPUs, or the fullest GPU with room for a share). */
  fit?(node: NodeState, request: ReplicaRequest, model: string): ReplicaAllocation | null;
  /** Orders the GPU models a replica accepts, best first; without it, they are tried in the fleet's order. */
  orderModels?(fleet: FleetState, request: ReplicaRequest, models: readonly string[]): string[];
  /** Told the fleet a placer works on before it asks anything: a scorer kept across cycles (`fit` names no fleet) follows it. */
  attach?(fleet: FleetState): void;
}

/**
 * Bin-pack pools are walked fewest-free-first, spread pools most-free-first; bin-pack pools first.
 * Fragmentation pools are walked as bin-pack ones when this scorer is the one in use.
 */
export const bucketScorer: PlacementScorer = {
  *candidates(fleet, request, model) {
    const need = Math.max(1, isFractional(request) ? 1 : request.gpus);
    const top = fleet.largestFree(model);
    if (isFractional(request)) for (const node of fleet.nodesWithPartial(model)) if (node.policy !== 'spread') yield node;
    for (let k = need; k <= top; k++) for (const node of fleet.nodesWithFree(model, k)) if (node.policy !== 'spread') yield node;
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
  /** A node that had room but is being freed for another workload: that workload's name. */
  freeingFor: string | null;
}

/** A pending workload for which running work is being stopped. */
interface Claimant {
  id: string;
  name: string;
}

/** What releasing work holds on one node: share of each GPU by index, cores and memory. */
export interface ReleasedRoom {
  gpus: Map<number, number>;
  cpus: number;
  memoryMiB: number;
}

interface Took {
  gpus: number;
  cpus: number;
  memoryMiB: number;
}

interface Taken {
  allocation: ReplicaAllocation;
  /** The reservation the placement ate into, and by how much, to give back on undo. */
  reservation: NodeReservation | null;
  took: Took;
}

/**
 * Places every replica of `workload` on GPUs of `model`, or none: a gang that does not fit whole
 * leaves the fleet as it found it. A placement that would delay a backfill reservation is refused.
 */
export class Placer {
  /** Off only while placing a workload into room released for it. */
  honourReservations = true;
  /**
   * Nodes where work is being stopped for a pending workload (Kubernetes calls it the nominated
   * node): no other workload takes room there while it is released, not even room beside the
   * victims, or the claimant would find less than it stopped them for and stop more.
   */
  private readonly freeing = new Map<NodeState, Claimant[]>();
  /**
   * While set, room released for no one that lies on a node being freed for a claimant may still
   * be taken, within what the releasing work holds there: the claimant was promised the rest of
   * the node, not that room (it starts where its own victims are). Otherwise which workload holds
   * room released for no one would depend on whether a claimant's victims share its node.
   */
  releasedRoom: Map<NodeState, ReleasedRoom> | null = null;

  constructor(
    private readonly fleet: FleetState,
    private readonly scorer: PlacementScorer,
    private readonly now: number,
  ) {
    scorer.attach?.(fleet);
  }

  place(workload: WorkloadBase, model: string | null): ReplicaAllocation[] | PlaceFailure {
    const failure: PlaceFailure = { reservation: null, topology: null, freeingFor: null };
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

  /**
   * The GPU models to try for `workload`, best first: the scorer's order for a single replica (a
   * gang's replicas share one model, whose order the scorer cannot judge replica by replica), else
   * `models` as given.
   */
  modelsInOrder<M extends string | null>(workload: WorkloadBase, models: readonly M[]): readonly M[] {
    if (models.length < 2 || workload.replicas !== 1 || !this.scorer.orderModels) return models;
    // Only a request for GPUs has more than one model to choose from ([null] asks for none).
    return this.scorer.orderModels(this.fleet, workload.request, models as readonly string[]) as unknown as readonly M[];
  }

  /** Places every replica on `nodes` only, or none. */
  placeOn(workload: WorkloadBase, model: string, nodes: NodeState[]): ReplicaAllocation[] | PlaceFailure {
    const failure: PlaceFailure = { reservation: null, topology: null, freeingFor: null };
    return this.placeAnywhere(workload, model, nodes, failure) ?? failure;
  }

  /** Keeps `node` for `claimant` (and any other claimant of it) while the work stopped for it releases. */
  freeFor(node: NodeState, claimant: Claimant): void {
    const claimants = this.freeing.get(node);
    if (!claimants) this.freeing.set(node, [claimant]);
    else if (!claimants.some((c) => c.id === claimant.id)) claimants.push(claimant);
  }

  /** Gives back what a placement took: for a tentative placement (a preemptor's, a consolidation's). */
  undo(allocations: ReplicaAllocation[], endAt: number): void {
    for (const a of allocations) this.fleet.apply(a, -1, endAt);
  }

  private placeWithoutGpus(workload: WorkloadBase): ReplicaAllocation[] | null {
    const label = workload.topology.required ?? (workload.replicas > 1 ? workload.topology.preferred : null);
    if (label !== null) {
      for (const nodes of this.fleet.domains(label).values()) {
        const placed = this.placeWithoutGpusOn(workload, () => nodes);
        if (placed) return placed;
      }
      if (workload.topology.required !== null) return null;
    }
    const { scorer, fleet } = this;
    const ranked = scorer.candidatesWithoutGpus?.bind(scorer);
    return this.placeWithoutGpusOn(workload, ranked ? () => ranked(fleet, workload.request) : () => fleet.nodes);
  }

  /** `nodes` is asked again for each replica: a scorer ranks them as the earlier replicas left them. */
  private placeWithoutGpusOn(workload: WorkloadBase, nodes: () => Iterable<NodeState>): ReplicaAllocation[] | null {
    const taken: Taken[] = [];
    for (let r = 0; r < workload.replicas; r++) {
      let step: Taken | null = null;
      for (const node of nodes()) {
        if (!node.schedulable) continue;
        const allocation = node.fitsWithoutGpus(workload.request);
        if (allocation && (step = this.claim(workload, node, allocation))) break;
      }
      if (!step) {
        this.release(taken, workload);
        return null;
      }
      taken.push(step);
    }
    return taken.map((t) => t.allocation);
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
      const allocation = this.scorer.fit ? this.scorer.fit(node, workload.request, model) : node.fit(workload.request, model);
      if (!allocation) continue;
      const step = this.claim(workload, node, allocation);
      if (step) return step;
      failure.reservation ??= node.reservation;
      failure.freeingFor ??= this.freeing.get(node)?.[0]?.name ?? null;
    }
    return null;
  }

  /**
   * Takes `allocation` unless the node is being freed for another workload, or it would delay the
   * node's backfill reservation: a workload that ends before the reservation starts, or leaves what
   * it needs (GPUs, cores, memory), may use the node.
   */
  private claim(workload: WorkloadBase, node: NodeState, allocation: ReplicaAllocation): Taken | null {
    const claimants = this.honourReservations ? this.freeing.get(node) : undefined;
    const anothers = claimants !== undefined && !claimants.some((c) => c.id === workload.id);
    const released = anothers ? this.releasedRoom?.get(node) : undefined;
    if (anothers && !(released && withinReleased(released, allocation))) return null;
    // A workload's own reservation does not hold it back.
    const reservation =
      this.honourReservations && node.reservation && node.reservation.workloadId !== workload.id && !this.endsBefore(workload, node.reservation.at)
        ? node.reservation
        : null;
    const took: Took = { gpus: 0, cpus: allocation.cpus, memoryMiB: allocation.memoryMiB };
    if (reservation) {
      took.gpus = allocation.gpuModel === reservation.model ? this.gpusCountedAt(node, allocation, reservation.at) : 0;
      if (
        reservation.freeAt - took.gpus < reservation.gpus ||
        reservation.cpusAt - took.cpus < reservation.cpus - EPSILON ||
        reservation.memoryAt - took.memoryMiB < reservation.memoryMiB - EPSILON
      )
        return null;
      // A long workload on a reserved node eats into what is free there at the reservation's start.
      reservation.freeAt -= took.gpus;
      reservation.cpusAt -= took.cpus;
      reservation.memoryAt -= took.memoryMiB;
    }
    if (released) takeReleased(released, allocation);
    this.fleet.apply(allocation, 1, this.endAt(workload));
    return { allocation, reservation, took };
  }

  private release(taken: Taken[], workload: WorkloadBase): void {
    for (const t of taken) {
      if (t.reservation) {
        t.reservation.freeAt += t.took.gpus;
        t.reservation.cpusAt += t.took.cpus;
        t.reservation.memoryAt += t.took.memoryMiB;
      }
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

  /**
   * GPUs of `allocation` that the reservation counted as free by `at`: a long holder, even of a
   * share, keeps each of them busy past it.
   */
  private gpusCountedAt(node: NodeState, allocation: ReplicaAllocation, at: number): number {
    let counted = 0;
    for (const index of allocation.gpuIndices) {
      const gpu = node.byIndex[index];
      if (gpu && NodeState.freeAt(gpu, this.now) <= at) counted++;
    }
    return counted;
  }

  private endsBefore(workload: WorkloadBase, at: number): boolean {
    return workload.timeLimitMs !== null && this.now + workload.timeLimitMs <= at;
  }

  endAt(workload: WorkloadBase): number {
    return workload.timeLimitMs === null ? Infinity : this.now + workload.timeLimitMs;
  }
}

function withinReleased(room: ReleasedRoom, allocation: ReplicaAllocation): boolean {
  const share = allocation.gpuFraction ?? 1;
  return (
    allocation.gpuIndices.every((i) => (room.gpus.get(i) ?? 0) >= share - EPSILON) &&
    allocation.cpus <= room.cpus + EPSILON &&
    allocation.memoryMiB <= room.memoryMiB + EPSILON
  );
}

function takeReleased(room: ReleasedRoom, allocation: ReplicaAllocation): void {
  const share = allocation.gpuFraction ?? 1;
  for (const i of allocation.gpuIndices) room.gpus.set(i, (room.gpus.get(i) ?? 0) - share);
  room.cpus -= allocation.cpus;
  room.memoryMiB -= allocation.memoryMiB;
}
