import { Cycle } from '../../scheduler/cycle.js';
import { FragmentationScorer } from '../../scheduler/fragmentation-scorer.js';
import { bucketScorer, type PlaceFailure, type PlacementScorer } from '../../scheduler/placement.js';
import { asksForGpus } from '../../scheduler/resources.js';
import {
  defaultSchedulerConfig,
  type PendingWorkload,
  type PlacementPolicy as PlacementPolicyName,
  type ReplicaAllocation,
} from '../../scheduler/types.js';
import type { WorkloadMix } from '../../scheduler/workload-mix.js';
import { snapshotNodes } from '../inputs/nodes.js';
import type { ClusterSpec } from '../traces/index.js';
import type { FillCluster } from './cluster.js';
import { WHOLE_GPU_MILLI, type FillPod } from './pod.js';
import type { FillPlacement, PlacementPolicy, PolicyFactory } from './policy.js';

/**
 * gpufleet's own placement in the fill: every pod is placed by the production core — the `Placer`
 * of a scheduling cycle over the fleet, with the placement policy and scorer under test, trying the
 * GPU models the pod accepts (`Cycle.modelsFor`) in the scorer's order (`Placer.modelsInOrder`). The
 * fill has no queues, quotas or priorities, so the rest of a cycle has nothing to decide: one cycle
 * stays open for the whole fill and each placement is applied to its fleet, as a cycle applies what
 * it places. A scorer that learns a mix is told about each pod as it arrives, as production's
 * learns it from the pending and running workloads of a snapshot.
 */
function gpufleetPolicy(name: string, policy: PlacementPolicyName, makeScorer: () => { scorer: PlacementScorer; mix: WorkloadMix | null }): PolicyFactory {
  return () => {
    const { scorer, mix } = makeScorer();
    let open: { cycle: Cycle; nodeIndex: Map<string, number> } | null = null;
    return {
      name,
      place(pod: FillPod, cluster: FillCluster): FillPlacement | null {
        open ??= { cycle: openCycle(cluster.spec, policy, scorer), nodeIndex: new Map(cluster.names.map((n, i) => [n, i])) };
        const { cycle, nodeIndex } = open;
        const workload = workloadOf(pod);
        mix?.add(workload);
        if (!asksForGpus(workload.request)) return placed(cycle.placer.place(workload, null), nodeIndex);
        for (const model of cycle.placer.modelsInOrder(workload, cycle.modelsFor(workload))) {
          const placement = placed(cycle.placer.place(workload, model), nodeIndex);
          if (placement) return placement;
        }
        return null;
      },
    } satisfies PlacementPolicy;
  };
}

function placed(result: ReplicaAllocation[] | PlaceFailure, nodeIndex: ReadonlyMap<string, number>): FillPlacement | null {
  if (!Array.isArray(result)) return null;
  const allocation = result[0]!;
  return { node: nodeIndex.get(allocation.nodeId)!, gpus: allocation.gpuIndices };
}

function openCycle(spec: ClusterSpec, policy: PlacementPolicyName, scorer: PlacementScorer): Cycle {
  const config = { ...defaultSchedulerConfig, placement: { default: policy, pools: {} } };
  return new Cycle({ nodes: snapshotNodes(spec), queues: [], running: [], pending: [] }, config, 0, scorer);
}

/** A pod as a one-replica workload: a share as `gpuFraction`, whole GPUs as `gpus`, without a time limit. */
export function workloadOf(pod: FillPod): PendingWorkload {
  const share = pod.gpuCount === 1 && pod.gpuMilli < WHOLE_GPU_MILLI;
  return {
    id: pod.id,
    name: pod.id,
    queueId: '',
    priority: 0,
    preemptible: false,
    replicas: 1,
    request: {
      gpus: share ? 0 : pod.gpuCount,
      gpuFraction: share ? pod.gpuMilli / WHOLE_GPU_MILLI : null,
      gpuMemoryMiB: null,
      cpus: pod.cpuMilli / 1000,
      memoryMiB: pod.memoryMiB,
    },
    gpuModels: pod.gpuModels === null ? null : [...pod.gpuModels],
    topology: { required: null, preferred: null },
    timeLimitMs: null,
    submittedAt: 0,
  };
}

/** Bin-pack over the free-GPU index (`placement.default: binpack`). */
export const gpufleetBinpack = gpufleetPolicy('gpufleet-binpack', 'binpack', () => ({ scorer: bucketScorer, mix: null }));

/** gpufleet's fragmentation-aware placement, production's default, learning the mix from the pods as they arrive. */
export const gpufleetFragmentation = gpufleetPolicy('gpufleet-fragmentation', 'fragmentation', () => {
  const scorer = new FragmentationScorer();
  return { scorer, mix: scorer.mix };
});
