import { memoryFromModel } from '../../src/core/gpu-models.js';
import { chargeQueue, quotaBlock } from '../../src/scheduler/quota.js';
import type { PendingWorkload, Snapshot, SnapshotNode, SnapshotQueue } from '../../src/scheduler/types.js';
import { pick, seeded, type Random } from './random.js';
import type { Fleet, ReplicaGroup, Scenario, ScenarioFile, WorkloadMix } from './scenario.js';

/** GPUs held by one running workload: what the plan applier would have written as a replica. */
export interface Allocation {
  workloadId: string;
  nodeId: string;
  gpuIndices: number[];
  gpuModel: string;
  queueId: string;
}

export interface NodeLabels {
  rack: string;
  nvlinkDomain: string;
}

/**
 * Everything a policy may want about the generated cluster. `snapshot` is what today's Snapshot type
 * carries; labels and the queue tree sit beside it until the snapshot type grows them.
 */
export interface Generated {
  snapshot: Snapshot;
  running: Allocation[];
  nodeLabels: Map<string, NodeLabels>;
  queueParents: Map<string, string | null>;
  gangIds: string[];
  reclaimIds: string[];
  /** More workloads from the same mix, for refilling the backlog between cycles. */
  nextPending: () => PendingWorkload;
}

export const EPOCH = Date.UTC(2025, 0, 1);
const STREAM = { running: 1, pending: 2 } as const;

export function generate(file: ScenarioFile, scenario: Scenario): Generated {
  const { nodes, nodeLabels } = buildNodes(file.fleet);
  const queues = file.queues.map(
    (q): SnapshotQueue => ({ id: q.name, name: q.name, priority: q.priority, quotas: q.quotas, usage: {} }),
  );
  const running = fillRunning(nodes, queues, scenario, seeded(scenario.seed, STREAM.running));

  const random = seeded(scenario.seed, STREAM.pending);
  let submitted = 0;
  const nextPending = () => drawWorkload(random, scenario.pending, file.fleet, submitted++);
  const pending = Array.from({ length: scenario.pending.count }, nextPending);
  const gang = scenario.gang ? replicas('gang', scenario.gang, submitted++) : [];
  const reclaim = scenario.reclaim ? replicas('reclaim', scenario.reclaim, submitted++) : [];
  pending.push(...gang, ...reclaim);

  return {
    snapshot: { nodes, queues, pending },
    running,
    nodeLabels,
    queueParents: new Map(file.queues.map((q) => [q.name, q.parent])),
    gangIds: gang.map((w) => w.id),
    reclaimIds: reclaim.map((w) => w.id),
    nextPending,
  };
}

function buildNodes(fleet: Fleet): { nodes: SnapshotNode[]; nodeLabels: Map<string, NodeLabels> } {
  // Models in contiguous blocks of nodes, as racks are bought: whole racks of one model.
  const total = fleet.models.reduce((sum, m) => sum + m.share, 0);
  const bounds: { model: string; end: number }[] = [];
  let cumulative = 0;
  for (const m of fleet.models) {
    cumulative += m.share;
    bounds.push({ model: m.model, end: Math.round((cumulative / total) * fleet.nodes) });
  }
  const nodes: SnapshotNode[] = [];
  const nodeLabels = new Map<string, NodeLabels>();
  const width = String(fleet.nodes).length;
  for (let i = 0; i < fleet.nodes; i++) {
    const model = bounds.find((b) => i < b.end)?.model ?? bounds[bounds.length - 1]!.model;
    const id = `node-${String(i).padStart(width, '0')}`;
    const memoryMiB = memoryFromModel(model);
    nodes.push({
      id,
      name: id,
      schedulable: true,
      gpus: Array.from({ length: fleet.gpusPerNode }, (_, index) => ({ index, model, memoryMiB })),
      usedGpuIndices: [],
    });
    nodeLabels.set(id, {
      rack: `rack-${Math.floor(i / fleet.topology.nodesPerRack)}`,
      nvlinkDomain: `nvl-${Math.floor(i / fleet.topology.nodesPerNvlinkDomain)}`,
    });
  }
  return { nodes, nodeLabels };
}

/**
 * Random nodes take workloads of the pending mix's sizes until the busy share is reached, so free
 * GPUs end up fragmented across nodes the way a running fleet's are. Queue limits hold.
 */
function fillRunning(nodes: SnapshotNode[], queues: SnapshotQueue[], scenario: Scenario, random: Random): Allocation[] {
  const byName = new Map(queues.map((q) => [q.name, q]));
  const gpusPerNode = nodes[0]?.gpus.length ?? 0;
  const target = Math.round(scenario.running.gpuShare * nodes.length * gpusPerNode);
  const sizes = scenario.pending.sizes.map((s) => s.gpus).sort((a, b) => b - a);
  const running: Allocation[] = [];
  let busy = 0;
  for (let attempt = 0; busy < target && attempt < target * 4 + 1000; attempt++) {
    const node = nodes[Math.floor(random() * nodes.length)]!;
    const free = gpusPerNode - node.usedGpuIndices.length;
    const wanted = Math.min(pick(random, scenario.pending.sizes).gpus, target - busy);
    const size = sizes.find((s) => s <= Math.min(wanted, free)) ?? 0;
    const queue = byName.get(pick(random, scenario.running.queues).queue)!;
    const model = node.gpus[0]!.model;
    if (size === 0 || quotaBlock(queue, model, size) !== null) continue;
    const taken = node.gpus.map((g) => g.index).filter((i) => !node.usedGpuIndices.includes(i)).slice(0, size);
    node.usedGpuIndices.push(...taken);
    chargeQueue(queue, model, size);
    running.push({ workloadId: `running-${running.length}`, nodeId: node.id, gpuIndices: taken, gpuModel: model, queueId: queue.id });
    busy += size;
  }
  return running;
}

function drawWorkload(random: Random, mix: WorkloadMix, fleet: Fleet, n: number): PendingWorkload {
  const gpus = pick(random, mix.sizes).gpus;
  const priority = pick(random, mix.priorities).priority;
  const queueId = pick(random, mix.queues).queue;
  const gpuModel = random() < mix.pinnedModelShare ? pick(random, fleet.models).model : null;
  const id = `w-${n}`;
  return { id, name: id, queueId, priority, gpus, gpuModel, submittedAt: EPOCH + n };
}

/** Today's snapshot has no multi-replica workloads, so a group is submitted as independent replicas. */
function replicas(kind: string, group: ReplicaGroup, n: number): PendingWorkload[] {
  return Array.from({ length: group.replicas }, (_, r) => {
    const id = `${kind}-${r}`;
    return { id, name: id, queueId: group.queue, priority: group.priority, gpus: group.gpusPerReplica, gpuModel: group.gpuModel, submittedAt: EPOCH + n };
  });
}
