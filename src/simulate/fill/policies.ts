import type { FillCluster } from './cluster.js';
import { WHOLE_GPU_MILLI, gpuDemandMilli, type FillPod } from './pod.js';
import { gpufleetBinpack, gpufleetFragmentation } from './gpufleet.js';
import { TieBreaker, type FillPlacement, type PlacementPolicy, type PolicyFactory } from './policy.js';

/**
 * The baselines of the OpenB paper (Weng et al., ATC'23), as its simulator
 * (hkust-adsl/kubernetes-scheduler-simulator, pkg/simulator/plugin) scores them. Each policy scores
 * every node the pod fits, takes the best score with ties broken at random, and then the pod's
 * GPUs on that node by `FillCluster.chooseGpus`.
 */

/** Normalisation of the paper's best-fit score: the largest node's CPU and GPUs (128 cores, 8 GPUs). */
const MAX_SPEC_CPU_MILLI = 128_000;
const MAX_SPEC_GPU_MILLI = 8 * WHOLE_GPU_MILLI;

/** Kubernetes' score range, which the paper's GPU-packing score is written in. */
const MAX_NODE_SCORE = 100;

function scored(
  name: string,
  random: () => number,
  score: (pod: FillPod, cluster: FillCluster, node: number) => number,
  higherIsBetter: boolean,
): PlacementPolicy {
  let ties: TieBreaker | null = null;
  return {
    name,
    place(pod: FillPod, cluster: FillCluster): FillPlacement | null {
      ties ??= new TieBreaker(cluster.nodeCount, random);
      ties.reset();
      const mask = cluster.modelMask(pod.gpuModels);
      for (let node = 0; node < cluster.nodeCount; node++) {
        if (cluster.fits(node, pod, mask)) ties.offer(node, score(pod, cluster, node), higherIsBetter);
      }
      const node = ties.pick();
      return node === null ? null : { node, gpus: cluster.chooseGpus(node, pod) };
    },
  };
}

/** Random-fit: any node the pod fits, uniformly. */
export const randomFit: PolicyFactory = (random) => scored('random-fit', random, () => 0, true);

/**
 * Best-fit: the node with the least resources left after placing the pod, where "resources left"
 * is the paper's weighted sum 0.5·(CPU left / 128 cores) + 0.5·(milli-GPU left on all the node's
 * GPUs / 8 GPUs). Memory is a constraint but not part of the score, as in the paper.
 */
export const bestFit: PolicyFactory = (random) =>
  scored(
    'best-fit',
    random,
    (pod, cluster, node) =>
      (0.5 * (cluster.cpuFree[node]! - pod.cpuMilli)) / MAX_SPEC_CPU_MILLI +
      (0.5 * (cluster.gpuFreeTotal[node]! - gpuDemandMilli(pod))) / MAX_SPEC_GPU_MILLI,
    false,
  );

/**
 * GPU packing, in the paper's three tiers (Kubernetes score 0..100, higher is better):
 * a share that fits on an already-shared GPU scores 100 − (its GPU's free tenths), at least 50;
 * a pod that needs fully free GPUs on a node already in use scores 50 − those GPUs, at least 33;
 * a pod on an entirely free node scores 33 − the node's GPUs (at least that count, as written).
 * CPU-only pods score 0 everywhere, so they land at random.
 */
export const gpuPacking: PolicyFactory = (random) => scored('gpu-packing', random, packingScore, true);

function packingScore(pod: FillPod, cluster: FillCluster, node: number): number {
  if (pod.gpuCount === 0) return 0;
  const gpus = cluster.gpuCount[node]!;
  const fully = cluster.fullyFreeGpus[node]!;
  if (fully === gpus) return Math.max(Math.floor(MAX_NODE_SCORE / 3) - fully, fully);
  const gpu = pod.gpuMilli < WHOLE_GPU_MILLI ? cluster.tightestGpu(node, pod.gpuMilli) : -1;
  const left = gpu < 0 ? WHOLE_GPU_MILLI : cluster.gpuFree[cluster.gpuStart[node]! + gpu]!;
  if (left === WHOLE_GPU_MILLI) return Math.max(Math.floor(MAX_NODE_SCORE / 2) - pod.gpuCount, Math.floor(MAX_NODE_SCORE / 3));
  const freePercent = Math.floor((left * 100) / WHOLE_GPU_MILLI);
  return Math.max(MAX_NODE_SCORE - Math.floor(freePercent / 10), Math.floor(MAX_NODE_SCORE / 2));
}

/**
 * The policies a fill runs, by the names the bench and reports use: the paper's baselines, then
 * gpufleet's own placement by the production core, with bin-pack and with the fragmentation-aware
 * policy (the default).
 */
export const FILL_POLICIES: Readonly<Record<string, PolicyFactory>> = {
  'random-fit': randomFit,
  'best-fit': bestFit,
  'gpu-packing': gpuPacking,
  'gpufleet-binpack': gpufleetBinpack,
  'gpufleet-fragmentation': gpufleetFragmentation,
};
