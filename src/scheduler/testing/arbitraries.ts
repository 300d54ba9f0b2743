/**
 * fast-check generators of small, consistent scheduler inputs: clusters, queue trees, running
 * workloads (placed greedily onto the cluster within queue limits, so the snapshot is valid) and
 * pending workloads (gangs, fractions, models, topology, time limits, priorities, preemptible).
 *
 * Raw specs are generated and then built deterministically, so fast-check shrinks the specs.
 */
import fc from 'fast-check';
import type {
  PendingWorkload,
  PlacementPolicy,
  QueueQuota,
  RunningWorkload,
  SchedulerConfig,
  Snapshot,
  SnapshotNode,
  SnapshotQueue,
} from '../types.js';
import { defaultSchedulerConfig } from '../types.js';
import { addAllocation, allocateGreedy, cloneUsage, emptyUsage, workloadCharge, type Usage } from './usage.js';

export const NOW = 1_700_000_000_000;
export const MODELS: ReadonlyArray<{ model: string; memoryMiB: number }> = [
  { model: 'H100-80GB', memoryMiB: 81_920 },
  { model: 'A100-40GB', memoryMiB: 40_960 },
  { model: 'L4-24GB', memoryMiB: 23_034 },
];
const POOLS = [null, 'training', 'inference'] as const;
const TOPOLOGY_KEYS = ['node', 'rack', 'nvlink-domain'] as const;

export interface SchedulerInput {
  snapshot: Snapshot;
  config: SchedulerConfig;
  now: number;
}

// ------------------------------------------------------------------ cluster

const nodeSpec = fc.record({
  gpus: fc.integer({ min: 1, max: 8 }),
  model: fc.nat(2),
  rack: fc.nat(2),
  nvl: fc.nat(3),
  pool: fc.nat(2),
  cpus: fc.oneof(fc.constant(0), fc.constantFrom(16, 32, 64, 128)),
  memoryGiB: fc.oneof(fc.constant(0), fc.constantFrom(64, 256, 1024)),
  schedulable: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

export const arbModels = fc.integer({ min: 1, max: 3 }).map((k) => MODELS.slice(0, k).map((m) => m.model));

export function arbNodes(models: readonly string[], maxNodes = 12): fc.Arbitrary<SnapshotNode[]> {
  return fc.array(nodeSpec, { minLength: 1, maxLength: maxNodes }).map((specs) =>
    specs.map((s, i): SnapshotNode => {
      const model = MODELS.find((m) => m.model === models[s.model % models.length])!;
      const labels: Record<string, string> = { rack: `r${s.rack}`, 'nvlink-domain': `nvl${s.nvl}` };
      const pool = POOLS[s.pool];
      if (pool) labels.pool = pool;
      return {
        id: `n${i}`,
        name: `node-${i}`,
        schedulable: s.schedulable,
        labels,
        cpus: s.cpus,
        memoryMiB: s.memoryGiB * 1024,
        gpus: Array.from({ length: s.gpus }, (_, index) => ({ index, model: model.model, memoryMiB: model.memoryMiB })),
      };
    }),
  );
}

// ------------------------------------------------------------------ queues

const quotaSpec = fc.record({
  key: fc.nat(3),
  guaranteed: fc.nat(8),
  limitExtra: fc.option(fc.nat(8), { nil: null, freq: 2 }),
  weight: fc.constantFrom(0, 1, 1, 2, 3),
  lending: fc.option(fc.nat(8), { nil: null, freq: 2 }),
});

const queueSpec = fc.record({
  hasParent: fc.boolean(),
  parent: fc.nat(5),
  priority: fc.nat(2),
  quotas: fc.array(quotaSpec, { maxLength: 3 }),
  usage: fc.option(fc.nat(16), { nil: null }),
});

export function arbQueues(models: readonly string[]): fc.Arbitrary<SnapshotQueue[]> {
  return fc.array(queueSpec, { minLength: 1, maxLength: 6 }).map((specs) => {
    const queues: SnapshotQueue[] = [];
    const depth = new Map<string, number>();
    specs.forEach((s, i) => {
      const candidates = queues.filter((q) => (depth.get(q.id) ?? 0) < 2);
      const parent = s.hasParent && candidates.length > 0 ? candidates[s.parent % candidates.length]! : null;
      const id = `q${i}`;
      depth.set(id, parent ? (depth.get(parent.id) ?? 0) + 1 : 0);
      const quotas: QueueQuota[] = [];
      for (const qs of s.quotas) {
        const keys = ['gpu', `gpu/${models[qs.key % models.length]}`, 'cpu', 'memory'];
        const resource = keys[qs.key]!;
        if (quotas.some((q) => q.resource === resource)) continue;
        const scale = resource === 'cpu' ? 8 : resource === 'memory' ? 65_536 : 1;
        quotas.push({
          resource,
          guaranteed: qs.guaranteed * scale,
          limit: qs.limitExtra === null ? null : (qs.guaranteed + qs.limitExtra) * scale,
          overQuotaWeight: qs.weight,
          lendingLimit: qs.lending === null ? null : Math.min(qs.lending, qs.guaranteed) * scale,
        });
      }
      queues.push({
        id,
        name: `queue-${i}`,
        parentId: parent?.id ?? null,
        priority: s.priority,
        quotas,
        decayedUsage: s.usage === null ? {} : { gpu: s.usage },
      });
    });
    return queues;
  });
}

// ------------------------------------------------------------------ workloads

const workloadSpec = fc.record({
  queue: fc.nat(5),
  replicas: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: 2, max: 4 }) }),
  kind: fc.oneof(
    { weight: 7, arbitrary: fc.constant('whole' as const) },
    { weight: 2, arbitrary: fc.constant('fraction' as const) },
    { weight: 1, arbitrary: fc.constant('memory' as const) },
    { weight: 1, arbitrary: fc.constant('cpu-only' as const) },
  ),
  gpus: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 2 }) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 8 }) }),
  fraction: fc.constantFrom(0.1, 0.25, 0.5, 0.75),
  gpuMemoryMiB: fc.constantFrom(10_240, 20_480, 40_960),
  cpus: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 32 })),
  memoryMiB: fc.oneof(fc.constant(0), fc.constantFrom(1_024, 16_384, 131_072)),
  models: fc.option(fc.subarray([0, 1, 2], { minLength: 1 }), { nil: null, freq: 3 }),
  required: fc.option(fc.constantFrom(...TOPOLOGY_KEYS), { nil: null, freq: 2 }),
  preferred: fc.option(fc.constantFrom(...TOPOLOGY_KEYS), { nil: null, freq: 2 }),
  timeLimitMin: fc.option(fc.integer({ min: 1, max: 240 }), { nil: null, freq: 2 }),
  priority: fc.nat(3),
  preemptible: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  at: fc.nat(7_200),
  releasing: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  /** A pending workload only: work was stopped for it and has gone. */
  claimed: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  nodeOffset: fc.nat(11),
});
type WorkloadSpec = typeof workloadSpec extends fc.Arbitrary<infer T> ? T : never;

function base(spec: WorkloadSpec, id: string, queues: readonly SnapshotQueue[], models: readonly string[]): Omit<PendingWorkload, 'submittedAt'> {
  const whole = spec.kind === 'whole';
  const gpuModels = spec.models === null ? null : [...new Set(spec.models.map((m) => models[m % models.length]!))];
  return {
    id,
    name: id,
    queueId: queues[spec.queue % queues.length]!.id,
    priority: spec.priority,
    preemptible: spec.preemptible,
    replicas: spec.replicas,
    request: {
      gpus: whole ? spec.gpus : 0,
      gpuFraction: spec.kind === 'fraction' ? spec.fraction : null,
      gpuMemoryMiB: spec.kind === 'memory' ? spec.gpuMemoryMiB : null,
      cpus: spec.kind === 'cpu-only' ? Math.max(1, spec.cpus) : spec.cpus,
      memoryMiB: spec.memoryMiB,
    },
    gpuModels: spec.kind === 'cpu-only' ? null : gpuModels,
    topology: { required: spec.required, preferred: spec.preferred },
    timeLimitMs: spec.timeLimitMin === null ? null : spec.timeLimitMin * 60_000,
  };
}

/** Whether charging `allocs` to `queueId` keeps it and every ancestor within its limits. */
function withinLimits(queueId: string, charge: Map<string, number>, queues: readonly SnapshotQueue[], used: Map<string, Map<string, number>>): boolean {
  for (let q = queues.find((x) => x.id === queueId); q; q = queues.find((x) => x.id === q!.parentId)) {
    const u = used.get(q.id) ?? new Map<string, number>();
    for (const quota of q.quotas) {
      if (quota.limit === null) continue;
      if ((u.get(quota.resource) ?? 0) + (charge.get(quota.resource) ?? 0) > quota.limit + 1e-9) return false;
    }
    if (q.parentId === null) break;
  }
  return true;
}

function chargeUp(queueId: string, charge: Map<string, number>, queues: readonly SnapshotQueue[], used: Map<string, Map<string, number>>) {
  for (let q = queues.find((x) => x.id === queueId); q; q = queues.find((x) => x.id === q!.parentId)) {
    const u = used.get(q.id) ?? new Map<string, number>();
    used.set(q.id, u);
    for (const [k, v] of charge) u.set(k, (u.get(k) ?? 0) + v);
    if (q.parentId === null) break;
  }
}

/** Running workloads placed greedily (first fit from a rotating start node) within queue limits. */
export function placeRunning(specs: readonly WorkloadSpec[], nodes: readonly SnapshotNode[], queues: readonly SnapshotQueue[], models: readonly string[], now: number): RunningWorkload[] {
  const usage: Usage = emptyUsage(nodes);
  const used = new Map<string, Map<string, number>>();
  const running: RunningWorkload[] = [];
  specs.forEach((spec, i) => {
    const startedAt = now - spec.at * 1_000;
    const w = { ...base(spec, `r${i}`, queues, models), submittedAt: startedAt - 1_000 };
    const start = spec.nodeOffset % nodes.length;
    const order = [...nodes.slice(start), ...nodes.slice(0, start)];
    const allocs = allocateGreedy(w, order, cloneUsage(usage));
    if (!allocs) return;
    const charge = workloadCharge(allocs);
    if (!withinLimits(w.queueId, charge, queues, used)) return;
    for (const a of allocs) addAllocation(usage, w.id, a);
    chargeUp(w.queueId, charge, queues, used);
    running.push({
      ...w,
      // A running workload's limit has not run out yet.
      timeLimitMs: w.timeLimitMs === null ? null : spec.at * 1_000 + w.timeLimitMs,
      startedAt,
      allocations: allocs,
      releasing: spec.releasing,
    });
  });
  return running;
}

export const arbConfig: fc.Arbitrary<SchedulerConfig> = fc
  .record({
    placementDefault: fc.constantFrom<PlacementPolicy>('fragmentation', 'binpack', 'spread'),
    training: fc.option(fc.constantFrom<PlacementPolicy>('fragmentation', 'binpack', 'spread'), { nil: null }),
    inference: fc.option(fc.constantFrom<PlacementPolicy>('fragmentation', 'binpack', 'spread'), { nil: null }),
    usageWeight: fc.constantFrom(0, 1, 2),
    minRuntimeMs: fc.constantFrom(0, 60_000, 600_000),
    reservations: fc.constantFrom(0, 1, 2, 8),
    // Pending work was submitted up to 720 s ago: 6 min makes about half of it overdue.
    overtakeAfterMs: fc.constantFrom(null, null, 0, 360_000),
    consolidation: fc.constantFrom('off' as const, 'propose' as const, 'apply' as const),
  })
  .map((c) => {
    const pools: Record<string, PlacementPolicy> = {};
    if (c.training) pools.training = c.training;
    if (c.inference) pools.inference = c.inference;
    return {
      ...defaultSchedulerConfig,
      placement: { default: c.placementDefault, pools },
      usageWeight: c.usageWeight,
      minRuntimeMs: c.minRuntimeMs,
      reservations: c.reservations,
      overtakeAfterMs: c.overtakeAfterMs,
      consolidation: c.consolidation,
    };
  });

function arbInput(shape: { maxNodes: number; running: { minLength: number; maxLength: number }; config: fc.Arbitrary<SchedulerConfig> }): fc.Arbitrary<SchedulerInput> {
  return arbModels.chain((models) =>
    fc
      .record({
        nodes: arbNodes(models, shape.maxNodes),
        queues: arbQueues(models),
        running: fc.array(workloadSpec, shape.running),
        pending: fc.array(workloadSpec, { minLength: 1, maxLength: 10 }),
        config: shape.config,
      })
      .map(({ nodes, queues, running, pending, config }): SchedulerInput => {
        const now = NOW;
        return {
          now,
          config,
          snapshot: {
            nodes,
            queues,
            running: placeRunning(running, nodes, queues, models, now),
            pending: pending.map((spec, i) => ({ ...base(spec, `p${i}`, queues, models), submittedAt: now - spec.at * 100, ...(spec.claimed ? { claimedAt: now - spec.at * 10 } : {}) })),
          },
        };
      }),
  );
}

/**
 * Fragmented fleets for consolidation: 2–6 equal nodes, small single-replica running work spread
 * round-robin (mostly preemptible), and pending gangs that want whole nodes.
 */
export const arbFragmentedInput: fc.Arbitrary<SchedulerInput> = fc
  .record({
    nodes: fc.integer({ min: 2, max: 6 }),
    size: fc.constantFrom(4, 8),
    running: fc.array(fc.record({ gpus: fc.constantFrom(1, 1, 2), preemptible: fc.constantFrom(true, true, true, false), at: fc.nat(7_200), priority: fc.nat(2) }), {
      minLength: 1,
      maxLength: 12,
    }),
    pending: fc.array(fc.record({ replicas: fc.integer({ min: 1, max: 3 }), priority: fc.nat(2), required: fc.option(fc.constant('rack'), { nil: null }) }), {
      minLength: 1,
      maxLength: 3,
    }),
    config: arbConfig,
  })
  .map(({ nodes: count, size, running, pending, config }): SchedulerInput => {
    const now = NOW;
    const nodes: SnapshotNode[] = Array.from({ length: count }, (_, i) => ({
      id: `n${i}`,
      name: `node-${i}`,
      schedulable: true,
      labels: { rack: `r${i % 2}` },
      cpus: 0,
      memoryMiB: 0,
      gpus: Array.from({ length: size }, (_, index) => ({ index, model: 'H100-80GB', memoryMiB: 81_920 })),
    }));
    const queues: SnapshotQueue[] = [{ id: 'q0', name: 'queue-0', parentId: null, priority: 0, quotas: [], decayedUsage: {} }];
    const shape = (id: string, gpus: number, replicas: number, priority: number, preemptible: boolean, required: string | null) => ({
      id,
      name: id,
      queueId: 'q0',
      priority,
      preemptible,
      replicas,
      request: { gpus, gpuFraction: null, gpuMemoryMiB: null, cpus: 0, memoryMiB: 0 },
      gpuModels: null,
      topology: { required, preferred: null },
      timeLimitMs: null,
    });
    const usage = emptyUsage(nodes);
    const placed: RunningWorkload[] = [];
    running.forEach((r, i) => {
      const w = { ...shape(`r${i}`, r.gpus, 1, r.priority, r.preemptible, null), submittedAt: now - r.at * 1_000 - 1_000 };
      const order = [...nodes.slice(i % count), ...nodes.slice(0, i % count)];
      const allocs = allocateGreedy(w, order, usage);
      if (allocs) placed.push({ ...w, startedAt: now - r.at * 1_000, allocations: allocs, releasing: false });
    });
    return {
      now,
      config: { ...config, consolidation: 'apply' },
      snapshot: {
        nodes,
        queues,
        running: placed,
        pending: pending.map((p, i) => ({ ...shape(`p${i}`, size, p.replicas, p.priority, true, p.required), submittedAt: now - i })),
      },
    };
  });

/**
 * A whole scheduler input: cluster, queue tree, running and pending workloads, config, now. A third
 * each: general (1–12 nodes), contended (1–4 nodes filled with running work, consolidation and
 * no minimum runtime more often) and fragmented (for consolidation), so that preemption, reclaim
 * and moves come up.
 */
export const arbSchedulerInput: fc.Arbitrary<SchedulerInput> = fc.oneof(
  arbInput({ maxNodes: 12, running: { minLength: 0, maxLength: 16 }, config: arbConfig }),
  arbInput({
    maxNodes: 4,
    running: { minLength: 4, maxLength: 16 },
    config: fc
      .record({ c: arbConfig, consolidation: fc.constantFrom('apply' as const, 'apply' as const, 'propose' as const, 'off' as const), minRuntimeMs: fc.constantFrom(0, 0, 60_000) })
      .map(({ c, consolidation, minRuntimeMs }) => ({ ...c, consolidation, minRuntimeMs })),
  }),
  arbFragmentedInput,
);
