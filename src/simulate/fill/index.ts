export { FillCluster } from './cluster.js';
export { WHOLE_GPU_MILLI, fillPodFromJob, gpuDemandMilli, type FillPod } from './pod.js';
export { type FillPlacement, type PlacementPolicy, type PolicyFactory } from './policy.js';
export { FILL_POLICIES, bestFit, gpuPacking, randomFit } from './policies.js';
export { gpufleetBinpack, gpufleetFragmentation, workloadOf } from './gpufleet.js';
export { ARRIVAL_LIMIT_PCT, OPENB_SEEDS, arrivalOrder, runFill, type FillResult } from './protocol.js';
