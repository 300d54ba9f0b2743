import type { FillCluster } from './cluster.js';
import type { FillPod } from './pod.js';

/** Where a pod goes: a node index of the cluster and the indexes of the node's GPUs it takes. */
export interface FillPlacement {
  node: number;
  gpus: number[];
}

/** A placement policy: the node and GPUs for one pod on the cluster as it is now, or null when none fits. */
export interface PlacementPolicy {
  readonly name: string;
  place(pod: FillPod, cluster: FillCluster): FillPlacement | null;
}

/** A policy is built per run from that run's random stream, so a seed fixes every choice it makes. */
export type PolicyFactory = (random: () => number) => PlacementPolicy;

/**
 * Picks uniformly among the nodes that tie for the best score, as the Kubernetes framework's
 * selectHost does; nodes are offered in index order, `better(a, b) > 0` when a beats b.
 */
export class TieBreaker {
  private readonly ties: Int32Array;
  private count = 0;
  private best = 0;

  constructor(
    nodeCount: number,
    private readonly random: () => number,
  ) {
    this.ties = new Int32Array(nodeCount);
  }

  reset(): void {
    this.count = 0;
  }

  offer(node: number, score: number, higherIsBetter: boolean): void {
    if (this.count > 0 && score !== this.best && score > this.best !== higherIsBetter) return;
    if (this.count === 0 || score !== this.best) {
      this.best = score;
      this.count = 0;
    }
    this.ties[this.count++] = node;
  }

  pick(): number | null {
    if (this.count === 0) return null;
    return this.ties[Math.floor(this.random() * this.count)]!;
  }
}
