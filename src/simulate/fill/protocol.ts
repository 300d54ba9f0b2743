import { hashString, seededRandom } from '../../core/seeded-random.js';
import type { ClusterSpec } from '../traces/index.js';
import { FillCluster } from './cluster.js';
import { gpuDemandMilli, type FillPod } from './pod.js';
import type { PolicyFactory } from './policy.js';

/** The OpenB paper's seeds: its table is the mean over these ten. */
export const OPENB_SEEDS: readonly number[] = [42, 43, 44, 45, 46, 47, 48, 49, 50, 51];

/** Arrival stops at 130 % of cluster GPU capacity (the paper's `tune 1.3`). */
export const ARRIVAL_LIMIT_PCT = 130;

export interface FillResult {
  policy: string;
  seed: number;
  /** allocatedPct[k]: allocated share of GPU capacity (%) once k % of it has arrived, k = 0..130. */
  allocatedPct: number[];
  submitted: number;
  placed: number;
  unplaced: number;
}

/**
 * The arrival sequence of one seed: the whole pod list shuffled, then pods drawn again uniformly
 * with replacement while the list's demand falls short, as the paper's simulator does (shuffle,
 * then tuneUpPods). Arrival ends before the first pod that would take the demand past the limit,
 * so it never exceeds 130 %.
 */
export function arrivalOrder(pods: readonly FillPod[], capacityMilli: number, random: () => number): FillPod[] {
  const limit = (capacityMilli * ARRIVAL_LIMIT_PCT) / 100;
  const shuffled = [...pods];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const order: FillPod[] = [];
  let arrived = 0;
  const admit = (pod: FillPod): boolean => {
    if (arrived + gpuDemandMilli(pod) > limit) return false;
    arrived += gpuDemandMilli(pod);
    order.push(pod);
    return true;
  };
  for (const pod of shuffled) if (!admit(pod)) return order;
  // Re-drawing from a list without GPU demand would never reach the limit.
  if (!pods.some((pod) => gpuDemandMilli(pod) > 0)) return order;
  while (admit(pods[Math.floor(random() * pods.length)]!));
  return order;
}

/**
 * One fill: pods arrive one at a time in `arrivalOrder`, each is placed by the policy or stays
 * unplaced for good, and none ever leaves. The shuffle and the policy draw from separate streams
 * derived from the seed, so every policy sees the same arrivals for a seed.
 */
export function runFill(spec: ClusterSpec, pods: readonly FillPod[], factory: PolicyFactory, seed: number): FillResult {
  const cluster = new FillCluster(spec);
  const capacity = cluster.capacityMilli;
  if (capacity === 0) throw new Error('fill needs a cluster with GPUs');
  const order = arrivalOrder(pods, capacity, seededRandom(seed));
  const policy = factory(seededRandom(hashString('fill-policy', seed)));
  const allocatedPct = new Array<number>(ARRIVAL_LIMIT_PCT + 1).fill(0);
  let mark = 1;
  let arrived = 0;
  let placed = 0;
  for (const pod of order) {
    const placement = policy.place(pod, cluster);
    if (placement !== null) {
      cluster.place(placement.node, pod, placement.gpus);
      placed += 1;
    }
    arrived += gpuDemandMilli(pod);
    // Integer milli-GPU on both sides, so a mark is reached exactly, never by rounding.
    for (; mark <= ARRIVAL_LIMIT_PCT && arrived * 100 >= mark * capacity; mark++) allocatedPct[mark] = (100 * cluster.allocatedMilli) / capacity;
  }
  // Arrival ends just short of the last mark(s) when the next pod would overshoot: those read the final state.
  for (; mark <= ARRIVAL_LIMIT_PCT; mark++) allocatedPct[mark] = (100 * cluster.allocatedMilli) / capacity;
  return { policy: policy.name, seed, allocatedPct, submitted: order.length, placed, unplaced: order.length - placed };
}
