import { memoryFromModel } from '../../src/core/gpu-models.js';
import { chargeGpus, limitBlock, type Usage } from '../../src/scheduler/quota.js';
import { GPU as GPU_KEY, gpuKey } from '../../src/scheduler/resources.js';
import type { PendingWorkload, QueueQuota, RunningWorkload, Snapshot, SnapshotNode, SnapshotQueue, WorkloadBase } from '../../src/scheduler/types.js';
import { pick, seeded, type Random } from './random.js';
import type { Fleet, QueueNode, ReplicaGroup, Scenario, ScenarioFile, WorkloadMix } from './scenario.js';

/** The generated cluster: the first snapshot, and where the workloads a scenario watches are. */
export interface Generated {
  /** Nodes (labels `rack` and `nvlink-domain`), the queue tree, the running load and the backlog. */
  snapshot: Snapshot;
  /** The gang workload (all its replicas or none), if the scenario has one. */
  gangId: string | null;
  /** The workload that has to reclaim its guaranteed quota, if the scenario has one. */
  reclaimId: string | null;
  /** More workloads from the same mix, for refilling the backlog between cycles. */
  nextPending: () => PendingWorkload;
}

export const EPOCH = Date.UTC(2025, 0, 1);
/** When the running load started: a day before the first submission, so no minimum runtime protects it. */
export const RUNNING_SINCE = EPOCH - 86_400_000;
/** Workloads of this queue serve traffic: they are never preempted. */
export const NON_PREEMPTIBLE_QUEUE = 'inference';
// Separate streams per purpose, so adding draws to one leaves the others (and the fleet's layout) unchanged.
const STREAM = { running: 1, pending: 2, runningPriority: 5 } as const;

export function generate(file: ScenarioFile, scenario: Scenario): Generated {
  const nodes = buildNodes(file.fleet);
  const queues = file.queues.map(toQueue);
  const running = fillRunning(nodes, queues, scenario, seeded(scenario.seed, STREAM.running), seeded(scenario.seed, STREAM.runningPriority));
  setDecayedUsage(queues, running);

  const random = seeded(scenario.seed, STREAM.pending);
  let submitted = 0;
  const nextPending = () => drawWorkload(random, scenario.pending, file.fleet, submitted++);
  const pending = Array.from({ length: scenario.pending.count }, nextPending);
  const gang = scenario.gang ? group('gang', scenario.gang, submitted++) : null;
  const reclaim = scenario.reclaim ? group('reclaim', scenario.reclaim, submitted++) : null;
  if (gang) pending.push(gang);
  if (reclaim) pending.push(reclaim);

  return { snapshot: { nodes, queues, running, pending }, gangId: gang?.id ?? null, reclaimId: reclaim?.id ?? null, nextPending };
}

/**
 * A queue of the file as the scheduler sees it: API quotas become resource keys — GPUs of any model
 * (`gpuModel: '*'`) `gpu`, of one model `gpu/<model>`; cores `cpu`; memory `memory` (GiB → MiB).
 */
function toQueue(q: QueueNode): SnapshotQueue {
  const quotas = q.quotas.map((quota): QueueQuota => {
    const scale = quota.resource === 'memory' ? 1024 : 1;
    const resource = quota.resource === 'cpus' ? 'cpu' : quota.resource === 'memory' ? 'memory' : quota.gpuModel === '*' ? GPU_KEY : gpuKey(quota.gpuModel);
    return {
      resource,
      guaranteed: quota.guaranteed * scale,
      limit: quota.limit === null ? null : quota.limit * scale,
      overQuotaWeight: quota.overQuotaWeight,
      lendingLimit: quota.lendingLimit === null ? null : quota.lendingLimit * scale,
    };
  });
  return { id: q.name, name: q.name, parentId: q.parent, priority: q.priority, quotas, decayedUsage: {} };
}

function buildNodes(fleet: Fleet): SnapshotNode[] {
  // Models in contiguous blocks of nodes, as racks are bought: whole racks of one model.
  const total = fleet.models.reduce((sum, m) => sum + m.share, 0);
  const bounds: { model: string; end: number }[] = [];
  let cumulative = 0;
  for (const m of fleet.models) {
    cumulative += m.share;
    bounds.push({ model: m.model, end: Math.round((cumulative / total) * fleet.nodes) });
  }
  const nodes: SnapshotNode[] = [];
  const width = String(fleet.nodes).length;
  for (let i = 0; i < fleet.nodes; i++) {
    const model = bounds.find((b) => i < b.end)?.model ?? bounds[bounds.length - 1]!.model;
    const id = `node-${String(i).padStart(width, '0')}`;
    const memoryMiB = memoryFromModel(model);
    nodes.push({
      id,
      name: id,
      schedulable: true,
      labels: {
        rack: `rack-${Math.floor(i / fleet.topology.nodesPerRack)}`,
        'nvlink-domain': `nvl-${Math.floor(i / fleet.topology.nodesPerNvlinkDomain)}`,
      },
      // Cores and memory unsaid (0): they do not constrain, and the workloads ask for none.
      cpus: 0,
      memoryMiB: 0,
      gpus: Array.from({ length: fleet.gpusPerNode }, (_, index) => ({ index, model, memoryMiB })),
    });
  }
  return nodes;
}

/** The queue and its ancestors, nearest first. */
export function lineage(queueId: string, queues: ReadonlyMap<string, SnapshotQueue>): SnapshotQueue[] {
  const chain: SnapshotQueue[] = [];
  for (let q = queues.get(queueId); q; q = q.parentId === null ? undefined : queues.get(q.parentId)) chain.push(q);
  return chain;
}

const base = (id: string, queueId: string, priority: number, gpus: number, gpuModel: string | null, submittedAt: number): WorkloadBase => ({
  id,
  name: id,
  queueId,
  priority,
  preemptible: queueId !== NON_PREEMPTIBLE_QUEUE,
  replicas: 1,
  request: { gpus, gpuFraction: null, gpuMemoryMiB: null, cpus: 0, memoryMiB: 0 },
  gpuModels: gpuModel === null ? null : [gpuModel],
  topology: { required: null, preferred: null },
  timeLimitMs: null,
  submittedAt,
});

/**
 * Random nodes take one-replica workloads of the pending mix's sizes until the busy share is
 * reached, so free GPUs end up fragmented across nodes the way a running fleet's are. Queue limits
 * hold along the tree. Priorities come from the pending mix, on a stream of their own.
 */
function fillRunning(nodes: SnapshotNode[], queues: SnapshotQueue[], scenario: Scenario, random: Random, priorities: Random): RunningWorkload[] {
  const byName = new Map(queues.map((q) => [q.name, q]));
  const usage = new Map<string, Usage>(queues.map((q) => [q.id, new Map()]));
  const used = new Int32Array(nodes.length);
  const gpusPerNode = nodes[0]?.gpus.length ?? 0;
  const target = Math.round(scenario.running.gpuShare * nodes.length * gpusPerNode);
  const sizes = scenario.pending.sizes.map((s) => s.gpus).sort((a, b) => b - a);
  const running: RunningWorkload[] = [];
  let busy = 0;
  for (let attempt = 0; busy < target && attempt < target * 4 + 1000; attempt++) {
    const at = Math.floor(random() * nodes.length);
    const node = nodes[at]!;
    const free = gpusPerNode - used[at]!;
    const wanted = Math.min(pick(random, scenario.pending.sizes).gpus, target - busy);
    const size = sizes.find((s) => s <= Math.min(wanted, free)) ?? 0;
    const queue = byName.get(pick(random, scenario.running.queues).queue)!;
    const model = node.gpus[0]!.model;
    const chain = lineage(queue.id, byName);
    if (size === 0 || chain.some((q) => limitBlock(q, usage.get(q.id), model, size) !== null)) continue;
    const gpuIndices = Array.from({ length: size }, (_, k) => used[at]! + k);
    used[at]! += size;
    for (const q of chain) chargeGpus(usage.get(q.id)!, model, size);
    const n = running.length;
    const priority = pick(priorities, scenario.pending.priorities).priority;
    running.push({
      ...base(`running-${n}`, queue.id, priority, size, null, RUNNING_SINCE - 3_600_000 + n),
      startedAt: RUNNING_SINCE,
      allocations: [{ nodeId: node.id, gpuIndices, gpuFraction: null, gpuModel: model, cpus: 0, memoryMiB: 0 }],
      releasing: false,
    });
    busy += size;
  }
  return running;
}

/**
 * Decayed usage as if the running load had run steadily for many half-lives: what each queue (with
 * its children) holds now. It stays fixed for the whole run.
 */
function setDecayedUsage(queues: SnapshotQueue[], running: RunningWorkload[]): void {
  const byId = new Map(queues.map((q) => [q.id, q]));
  const usage = new Map<string, Usage>(queues.map((q) => [q.id, new Map()]));
  for (const w of running)
    for (const a of w.allocations) if (a.gpuModel !== null) for (const q of lineage(w.queueId, byId)) chargeGpus(usage.get(q.id)!, a.gpuModel, a.gpuIndices.length);
  for (const q of queues) q.decayedUsage = Object.fromEntries([...usage.get(q.id)!].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function drawWorkload(random: Random, mix: WorkloadMix, fleet: Fleet, n: number): PendingWorkload {
  const gpus = pick(random, mix.sizes).gpus;
  const priority = pick(random, mix.priorities).priority;
  const queueId = pick(random, mix.queues).queue;
  const gpuModel = random() < mix.pinnedModelShare ? pick(random, fleet.models).model : null;
  return base(`w-${n}`, queueId, priority, gpus, gpuModel, EPOCH + n);
}

/** A group is one workload of `replicas` replicas: all of them start or none do. */
function group(kind: string, spec: ReplicaGroup, n: number): PendingWorkload {
  return {
    ...base(kind, spec.queue, spec.priority, spec.gpusPerReplica, spec.gpuModel, EPOCH + n),
    replicas: spec.replicas,
    topology: { required: spec.topology.required, preferred: spec.topology.preferred },
  };
}
