/**
 * The fleet's history as the cost arithmetic sees it. Times are ms since the epoch; every interval
 * is half-open [from, to), so two intervals that touch never count the same instant twice.
 */

/** One GPU, or a share of one, held by one workload; a workload holding 4 GPUs has 4 of these. */
export interface AllocationInterval {
  workloadId: string;
  team: string;
  queue: string;
  node: string;
  model: string;
  gpuIndex: number;
  /** The fraction of the GPU held, in (0, 1] (`gpus: 0.5`, or a `gpuMemory` share); absent: the whole GPU. */
  share?: number;
  from: number;
  /** null while the workload still holds the GPU: it counts up to the end of the window. */
  to: number | null;
}

/** What a node reported about one GPU; it holds until that GPU's next sample. */
export interface UsageSample {
  node: string;
  gpuIndex: number;
  t: number;
  /** Fraction of time the GPU's engines were busy, 0..1. */
  engineActivity: number;
  /** A process was on the GPU, whether or not it holds an allocation. */
  used: boolean;
}

/** A GPU that existed in the fleet over [from, to). */
export interface InventoryInterval {
  node: string;
  gpuIndex: number;
  model: string;
  from: number;
  to: number | null;
}

/** What a node's labels say about its price: its pool and, if labelled, its instance type. */
export interface NodePool {
  pool: string;
  instanceType?: string;
}

export interface FleetHistory {
  inventory: readonly InventoryInterval[];
  allocations: readonly AllocationInterval[];
  samples: readonly UsageSample[];
  /** Each pooled node's pool (and instance type), for the price book's pool prices; absent: no node is pooled. */
  nodePools?: ReadonlyMap<string, NodePool>;
}

/** The reporting window [since, until). */
export interface Window {
  since: number;
  until: number;
}
