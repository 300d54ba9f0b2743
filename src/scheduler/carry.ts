import type { FleetState, NodeState } from './fleet.js';
import { FragmentationScorer, scorerFor } from './fragmentation-scorer.js';
import type { PlacementScorer } from './placement.js';
import type { ReplicaAllocation, RunningWorkload, SchedulerConfig, Snapshot, SnapshotNode } from './types.js';

/** What the carry reads of a running workload as a cycle admitted it (the cycle's `Holder`). */
interface Holder {
  source: Pick<RunningWorkload, 'id' | 'allocations'>;
  /** The node of each allocation (null: not in the snapshot). */
  nodes: readonly (NodeState | null)[];
  endAt: number;
  /** Placed by the cycle itself, not admitted as running. */
  tentative: object | null;
}

/**
 * What one scheduling cycle leaves the next: its fleet. A cycle over the same nodes then does not
 * build every node again and apply every running allocation again; it puts back only the nodes
 * whose running work changed and those the last cycle itself changed (what it placed, freed or
 * hid), each by clearing it and applying its holders in snapshot order, as a fresh
 * fleet would, and drops every backfill reservation. So a plan is the same with or without a carry (`carry.test.ts`); a carry only saves
 * time. Nodes, placement policies or pool label that differ from the last cycle's, or a cycle
 * that did not finish, start afresh.
 */
export class SchedulerCarry {
  private fleet: FleetState | null = null;
  private nodes: readonly SnapshotNode[] = [];
  private config: SchedulerConfig | null = null;
  /** Holders of each node as the last cycle had them (by ordinal), its own placements at the end of each list. */
  private holders: Holder[][] = [];
  /** Nodes the last cycle changed after admitting what runs. */
  private readonly touched = new Set<NodeState>();
  private finished = false;
  /** The fleet `touched` is filled from, and how to stop that. */
  private watched: FleetState | null = null;
  private unwatch: (() => void) | null = null;
  private scorer: FragmentationScorer | null = null;

  /** The last cycle's fleet, if it was over the same nodes with the same placement settings; else null (build afresh). */
  fleetFor(nodes: readonly SnapshotNode[], config: SchedulerConfig): FleetState | null {
    const fleet = this.finished && this.config !== null && samePlacement(this.config, config) && sameNodes(this.nodes, nodes) ? this.fleet : null;
    this.finished = false;
    if (fleet === null) {
      this.fleet = null;
      return null;
    }
    fleet.reuse();
    return fleet;
  }

  /** Brings the reused fleet to what `holders` (this cycle's running work, by node ordinal, in snapshot order) hold. */
  settle(fleet: FleetState, holders: Holder[][]): void {
    for (const node of fleet.nodes) {
      const now = holders[node.ordinal]!;
      // Backfill reservations are the cycle's own, made without telling the watchers.
      node.reservation = null;
      if (!this.touched.has(node) && sameHolders(this.holders[node.ordinal]!, now)) continue;
      fleet.resetNode(node);
      for (const r of now) {
        const { allocations } = r.source;
        for (let i = 0; i < allocations.length; i++) if (r.nodes[i] === node) fleet.applyTo(node, allocations[i]!, 1, r.endAt);
      }
    }
  }

  /** Keeps this cycle's fleet and holders, and from now on notes every node the cycle changes. */
  begin(fleet: FleetState, nodes: readonly SnapshotNode[], config: SchedulerConfig, holders: Holder[][]): void {
    if (fleet !== this.watched) {
      this.unwatch?.();
      this.unwatch = fleet.watch((node) => this.touched.add(node));
      this.watched = fleet;
    }
    this.fleet = fleet;
    this.nodes = nodes;
    this.config = config;
    this.holders = holders;
    this.touched.clear();
  }

  /**
   * The scorer for a cycle under `config`: a fragmentation-aware one is kept from cycle to cycle,
   * learning each snapshot's mix afresh and keeping its index of the carried fleet's nodes by state.
   */
  scorerFor(config: SchedulerConfig, snapshot: Pick<Snapshot, 'pending' | 'running'>): PlacementScorer {
    return scorerFor(config, snapshot, (this.scorer ??= new FragmentationScorer()));
  }

  /** The cycle made its plan: its fleet may be reused. */
  finish(): void {
    this.finished = this.fleet !== null;
  }
}

/** The same work held the same way: the same workloads in the same order, with the same allocations and end. */
function sameHolders(before: readonly Holder[], now: readonly Holder[]): boolean {
  let i = 0;
  for (const b of before) {
    // The last cycle's own placements were put after its running work; they are in `touched`.
    if (b.tentative !== null) continue;
    const n = now[i++];
    if (!n || n.source.id !== b.source.id || n.endAt !== b.endAt || !sameAllocations(n.source.allocations, b.source.allocations)) return false;
  }
  return i === now.length;
}

function sameAllocations(a: readonly ReplicaAllocation[], b: readonly ReplicaAllocation[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.nodeId !== y.nodeId || x.gpuFraction !== y.gpuFraction || x.gpuModel !== y.gpuModel || x.cpus !== y.cpus || x.memoryMiB !== y.memoryMiB) return false;
    if (x.gpuIndices.length !== y.gpuIndices.length || x.gpuIndices.some((g, k) => g !== y.gpuIndices[k])) return false;
  }
  return true;
}

function samePlacement(a: SchedulerConfig, b: SchedulerConfig): boolean {
  if (a.poolLabel !== b.poolLabel || a.placement.default !== b.placement.default) return false;
  const pa = Object.entries(a.placement.pools);
  return pa.length === Object.keys(b.placement.pools).length && pa.every(([pool, policy]) => b.placement.pools[pool] === policy);
}

function sameNodes(a: readonly SnapshotNode[], b: readonly SnapshotNode[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameNode(a[i]!, b[i]!)) return false;
  return true;
}

function sameNode(a: SnapshotNode, b: SnapshotNode): boolean {
  if (a === b) return true;
  if (a.id !== b.id || a.name !== b.name || a.schedulable !== b.schedulable || a.cpus !== b.cpus || a.memoryMiB !== b.memoryMiB) return false;
  if (a.gpus.length !== b.gpus.length) return false;
  for (let i = 0; i < a.gpus.length; i++) {
    const x = a.gpus[i]!;
    const y = b.gpus[i]!;
    if (x.index !== y.index || x.model !== y.model || x.memoryMiB !== y.memoryMiB) return false;
  }
  const labels = Object.keys(a.labels);
  return labels.length === Object.keys(b.labels).length && labels.every((k) => a.labels[k] === b.labels[k]);
}
