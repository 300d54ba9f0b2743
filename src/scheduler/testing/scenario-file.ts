/**
 * Scheduler scenario files: a small, readable YAML description of a cluster, its queues and
 * workloads, and what the scheduler is expected to decide. See `src/scheduler/scenarios/`.
 *
 * ```yaml
 * description: what this shows
 * config: { minRuntimeMs: 0 }            # partial SchedulerConfig
 * now: 10h                               # ms, or a duration: 90s, 30m, 2h
 * nodes:
 *   - { name: a, gpus: 8xH100-80GB, labels: { rack: r1 }, cpus: 64, memory: 524288 }
 * queues:
 *   - { name: org, quotas: { gpu: { guaranteed: 4, limit: 8, weight: 1, lendingLimit: 2 } } }
 *   - { name: team, parent: org, priority: 1, usage: { gpu: 3 } }   # usage = decayedUsage
 * running:
 *   - { name: r1, queue: team, gpus: 4, on: a, startedAt: 1h, timeLimit: 2h }
 * pending:
 *   - { name: p1, queue: team, gpus: 2, replicas: 2, topology: { required: rack } }
 * expect:
 *   placed: [p1]                         # exactly these are placed
 *   placedOn: { p1: [a] }                # the set of nodes a placement uses
 *   preempted: [{ name: r1, kind: reclaim, for: p1 }]   # exactly these are stopped (omitted: none)
 *   pending: { p2: "limit" }             # some reason contains this (case-insensitive)
 *   reservations: [{ name: p3, at: 3h, nodes: [a] }]    # checked only when given
 *   moves: [{ name: r2, for: p1, to: [b] }]             # exactly these move (omitted: none)
 * ```
 *
 * Workloads take `gpus` (whole, per replica), or `fraction`, or `gpuMemory` (MiB), plus `cpus`,
 * `memory` (MiB), `replicas`, `models`, `topology`, `timeLimit`, `priority` (0), `preemptible`
 * (true); pending ones `submittedAt` (default: their position in the list) and `claimedAt` (when
 * work was stopped for them; default none), running ones `on` (a node, or one per replica),
 * `startedAt` (0), `submittedAt` (their start) and `releasing` (false). Ids are the names.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { PendingWorkload, PreemptionKind, RunningWorkload, SchedulerConfig, Snapshot, SnapshotNode, SnapshotQueue } from '../types.js';
import { defaultSchedulerConfig } from '../types.js';
import { addAllocation, allocateOnNode, emptyUsage } from './usage.js';

const KNOWN_GPU_MEMORY: Record<string, number> = {
  'H100-80GB': 81_920,
  'H200-141GB': 144_384,
  'A100-80GB': 81_920,
  'A100-40GB': 40_960,
  'L4-24GB': 23_034,
  'T4-16GB': 15_360,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, written as a number or a duration such as `90s`, `30m`, `2h`. */
const duration = z.union([
  z.number().nonnegative(),
  z
    .string()
    .regex(DURATION, 'expected ms or a duration such as 90s, 30m, 2h')
    .transform((s) => {
      const m = DURATION.exec(s)!;
      return Number(m[1]) * UNIT[m[2]!]!;
    }),
], { error: 'expected ms or a duration such as 90s, 30m, 2h' });

const name = z.string().min(1);
const policy = z.enum(['binpack', 'spread', 'fragmentation']);

const configSchema = z.strictObject({
  placement: z.strictObject({ default: policy.optional(), pools: z.record(z.string(), policy).optional() }).optional(),
  poolLabel: z.string().optional(),
  usageWeight: z.number().nonnegative().optional(),
  minRuntimeMs: duration.optional(),
  reservations: z.number().int().nonnegative().optional(),
  consolidation: z.enum(['off', 'propose', 'apply']).optional(),
  overtakeAfterMs: duration.optional(),
});

const GPUS = /^\d+x[A-Za-z0-9._-]+(\+\d+x[A-Za-z0-9._-]+)*$/;
const nodeSchema = z.strictObject({
  name,
  gpus: z.union([z.literal(0), z.string().regex(GPUS, 'expected e.g. 8xH100-80GB or 4xH100-80GB+4xA100-40GB')], { error: 'expected e.g. 8xH100-80GB or 4xH100-80GB+4xA100-40GB' }).default(0),
  labels: z.record(z.string(), z.string()).default({}),
  cpus: z.number().nonnegative().default(0),
  memory: z.number().nonnegative().default(0),
  schedulable: z.boolean().default(true),
});

const quotaSchema = z.strictObject({
  guaranteed: z.number().nonnegative().default(0),
  limit: z.number().nonnegative().nullable().default(null),
  weight: z.number().nonnegative().default(1),
  lendingLimit: z.number().nonnegative().nullable().default(null),
});

const queueSchema = z.strictObject({
  name,
  parent: name.optional(),
  priority: z.number().int().default(0),
  quotas: z.record(z.string().regex(/^(gpu|gpu\/.+|cpu|memory)$/, 'expected gpu, gpu/<model>, cpu or memory'), quotaSchema).default({}),
  usage: z.record(z.string(), z.number().nonnegative()).default({}),
});

const workloadFields = {
  name,
  queue: name.optional(),
  gpus: z.number().int().nonnegative().optional(),
  fraction: z.number().gt(0).lt(1).optional(),
  gpuMemory: z.number().positive().optional(),
  replicas: z.number().int().positive().default(1),
  cpus: z.number().nonnegative().default(0),
  memory: z.number().nonnegative().default(0),
  models: z.array(z.string().min(1)).min(1).optional(),
  topology: z.strictObject({ required: z.string().min(1).optional(), preferred: z.string().min(1).optional() }).default({}),
  timeLimit: duration.optional(),
  priority: z.number().int().default(0),
  preemptible: z.boolean().default(true),
};

const pendingSchema = z.strictObject({ ...workloadFields, submittedAt: duration.optional(), claimedAt: duration.optional() });
const runningSchema = z.strictObject({
  ...workloadFields,
  on: z.union([name, z.array(name).min(1)], { error: 'expected a node name or a list of them' }),
  startedAt: duration.default(0),
  submittedAt: duration.optional(),
  releasing: z.boolean().default(false),
});

const kind = z.enum(['reclaim', 'preempt', 'consolidate']);
const expectSchema = z.strictObject({
  placed: z.array(name).default([]),
  placedOn: z.record(z.string(), z.array(name).min(1)).optional(),
  preempted: z.array(z.union([name, z.strictObject({ name, kind: kind.optional(), for: name.optional() })], { error: 'expected a name or { name, kind?, for? }' })).default([]),
  pending: z.record(z.string(), z.string().min(1)).default({}),
  reservations: z.array(z.strictObject({ name, at: duration.optional(), nodes: z.array(name).min(1).optional() })).optional(),
  moves: z.array(z.strictObject({ name, for: name.optional(), to: z.array(name).min(1).optional() })).default([]),
});

const fileSchema = z.strictObject({
  description: z.string().min(1),
  config: configSchema.default({}),
  now: duration,
  nodes: z.array(nodeSchema).min(1),
  queues: z.array(queueSchema).default([{ name: 'default', priority: 0, quotas: {}, usage: {} }]),
  running: z.array(runningSchema).default([]),
  pending: z.array(pendingSchema).default([]),
  expect: expectSchema,
});

export interface ScenarioExpectation {
  placed: string[];
  placedOn?: Record<string, string[]>;
  preempted: Array<{ name: string; kind?: PreemptionKind; for?: string }>;
  pending: Record<string, string>;
  reservations?: Array<{ name: string; at?: number; nodes?: string[] }>;
  moves: Array<{ name: string; for?: string; to?: string[] }>;
}

export interface Scenario {
  file: string;
  description: string;
  config: SchedulerConfig;
  now: number;
  snapshot: Snapshot;
  expect: ScenarioExpectation;
}

export class ScenarioError extends Error {}

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out === '' ? '(root)' : out;
}

/** Parses and builds a scenario; throws a ScenarioError naming the file and every bad field. */
export function parseScenario(text: string, file: string): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ScenarioError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      if (i.code === 'unrecognized_keys') return `${pathOf([...i.path, ...(i.keys.length === 1 ? i.keys : [])])}: unknown field${i.keys.length === 1 ? '' : `s ${i.keys.join(', ')}`}`;
      return `${pathOf(i.path)}: ${i.message}`;
    });
    throw new ScenarioError(`${file}: ${issues.join('; ')}`);
  }
  const f = parsed.data;
  const errors: string[] = [];
  const fail = (where: string, message: string) => errors.push(`${where}: ${message}`);

  const config: SchedulerConfig = {
    ...defaultSchedulerConfig,
    ...stripUndefined({
      poolLabel: f.config.poolLabel,
      usageWeight: f.config.usageWeight,
      minRuntimeMs: f.config.minRuntimeMs,
      reservations: f.config.reservations,
      consolidation: f.config.consolidation,
      overtakeAfterMs: f.config.overtakeAfterMs,
    }),
    placement: {
      default: f.config.placement?.default ?? defaultSchedulerConfig.placement.default,
      pools: { ...defaultSchedulerConfig.placement.pools, ...(f.config.placement?.pools ?? {}) },
    },
  };

  // nodes
  const nodes: SnapshotNode[] = [];
  const seenNodes = new Set<string>();
  f.nodes.forEach((n, i) => {
    if (seenNodes.has(n.name)) fail(`nodes[${i}].name`, `duplicate node ${n.name}`);
    seenNodes.add(n.name);
    const gpus: SnapshotNode['gpus'] = [];
    if (n.gpus !== 0) {
      for (const part of n.gpus.split('+')) {
        const x = part.indexOf('x');
        const count = Number(part.slice(0, x));
        const model = part.slice(x + 1);
        const memoryMiB = KNOWN_GPU_MEMORY[model] ?? gbFromName(model);
        if (memoryMiB === null) fail(`nodes[${i}].gpus`, `unknown memory size for model ${model} (name it like X-80GB)`);
        for (let k = 0; k < count; k++) gpus.push({ index: gpus.length, model, memoryMiB: memoryMiB ?? 0 });
      }
    }
    nodes.push({ id: n.name, name: n.name, schedulable: n.schedulable, labels: n.labels, cpus: n.cpus, memoryMiB: n.memory, gpus });
  });

  // queues
  const queueNames = new Set(f.queues.map((q) => q.name));
  const queues: SnapshotQueue[] = f.queues.map((q, i) => {
    if (q.parent !== undefined && !queueNames.has(q.parent)) fail(`queues[${i}].parent`, `unknown queue ${q.parent}`);
    if (q.parent === q.name) fail(`queues[${i}].parent`, `a queue cannot be its own parent`);
    return {
      id: q.name,
      name: q.name,
      parentId: q.parent ?? null,
      priority: q.priority,
      quotas: Object.entries(q.quotas).map(([resource, quota]) => ({
        resource,
        guaranteed: quota.guaranteed,
        limit: quota.limit,
        overQuotaWeight: quota.weight,
        lendingLimit: quota.lendingLimit,
      })),
      decayedUsage: q.usage,
    };
  });
  if (queueNames.size !== f.queues.length) fail('queues', 'duplicate queue names');

  const workloadNames = new Set<string>();
  const shape = (w: z.infer<typeof pendingSchema> | z.infer<typeof runningSchema>, where: string) => {
    if (workloadNames.has(w.name)) fail(`${where}.name`, `duplicate workload ${w.name}`);
    workloadNames.add(w.name);
    const queue = w.queue ?? f.queues[0]?.name ?? 'default';
    if (!queueNames.has(queue)) fail(`${where}.queue`, `unknown queue ${queue}`);
    const shares = [w.fraction, w.gpuMemory].filter((x) => x !== undefined).length;
    if (shares > 1) fail(where, 'give fraction or gpuMemory, not both');
    if (shares > 0 && (w.gpus ?? 0) !== 0) fail(`${where}.gpus`, 'a share of one GPU (fraction/gpuMemory) takes gpus: 0');
    return {
      id: w.name,
      name: w.name,
      queueId: queue,
      priority: w.priority,
      preemptible: w.preemptible,
      replicas: w.replicas,
      request: {
        gpus: shares > 0 ? 0 : (w.gpus ?? 1),
        gpuFraction: w.fraction ?? null,
        gpuMemoryMiB: w.gpuMemory ?? null,
        cpus: w.cpus,
        memoryMiB: w.memory,
      },
      gpuModels: w.models ?? null,
      topology: { required: w.topology.required ?? null, preferred: w.topology.preferred ?? null },
      timeLimitMs: w.timeLimit ?? null,
    };
  };

  // running: allocated on the named nodes, lowest free GPU indices first
  const usage = emptyUsage(nodes);
  const running: RunningWorkload[] = f.running.map((r, i) => {
    const where = `running[${i}]`;
    const w: RunningWorkload = { ...shape(r, where), submittedAt: r.submittedAt ?? r.startedAt, startedAt: r.startedAt, allocations: [], releasing: r.releasing };
    const on = typeof r.on === 'string' ? [r.on] : r.on;
    if (on.length !== 1 && on.length !== r.replicas) fail(`${where}.on`, `give one node or one per replica (${r.replicas})`);
    for (let k = 0; k < r.replicas; k++) {
      const nodeName = on[k] ?? on[0]!;
      const state = usage.get(nodeName);
      if (!state) {
        fail(`${where}.on`, `unknown node ${nodeName}`);
        break;
      }
      const alloc = allocateOnNode(w, state);
      if (!alloc) {
        fail(`${where}.on`, `${r.name} replica ${k} does not fit on ${nodeName} next to the running workloads listed before it`);
        break;
      }
      addAllocation(usage, w.id, alloc);
      w.allocations.push(alloc);
    }
    return w;
  });

  const pending: PendingWorkload[] = f.pending.map((p, i) => ({ ...shape(p, `pending[${i}]`), submittedAt: p.submittedAt ?? i, claimedAt: p.claimedAt ?? null }));

  // expectations name known things
  const e = f.expect;
  const pendingNames = new Set(pending.map((p) => p.name));
  const runningNames = new Set(running.map((r) => r.name));
  const needPending = (n: string, where: string) => {
    if (!pendingNames.has(n)) fail(where, `${n} is not a pending workload`);
  };
  const needRunning = (n: string, where: string) => {
    if (!runningNames.has(n)) fail(where, `${n} is not a running workload`);
  };
  const needNode = (n: string, where: string) => {
    if (!seenNodes.has(n)) fail(where, `unknown node ${n}`);
  };
  e.placed.forEach((n, i) => needPending(n, `expect.placed[${i}]`));
  for (const [n, ns] of Object.entries(e.placedOn ?? {})) {
    needPending(n, `expect.placedOn.${n}`);
    if (!e.placed.includes(n)) fail(`expect.placedOn.${n}`, `${n} is not in expect.placed`);
    ns.forEach((x, i) => needNode(x, `expect.placedOn.${n}[${i}]`));
  }
  const preempted = e.preempted.map((p) => (typeof p === 'string' ? { name: p } : p));
  preempted.forEach((p, i) => {
    needRunning(p.name, `expect.preempted[${i}]`);
    if (p.for !== undefined) needPending(p.for, `expect.preempted[${i}].for`);
  });
  for (const n of Object.keys(e.pending)) {
    needPending(n, `expect.pending.${n}`);
    if (e.placed.includes(n)) fail(`expect.pending.${n}`, `${n} is also in expect.placed`);
  }
  e.reservations?.forEach((r, i) => {
    needPending(r.name, `expect.reservations[${i}].name`);
    r.nodes?.forEach((x, k) => needNode(x, `expect.reservations[${i}].nodes[${k}]`));
  });
  e.moves.forEach((m, i) => {
    needRunning(m.name, `expect.moves[${i}].name`);
    if (m.for !== undefined) needPending(m.for, `expect.moves[${i}].for`);
    m.to?.forEach((x, k) => needNode(x, `expect.moves[${i}].to[${k}]`));
  });

  if (errors.length > 0) throw new ScenarioError(`${file}: ${errors.join('; ')}`);
  return {
    file,
    description: f.description,
    config,
    now: f.now,
    snapshot: { nodes, queues, running, pending },
    expect: { placed: e.placed, placedOn: e.placedOn, preempted, pending: e.pending, reservations: e.reservations, moves: e.moves },
  };
}

function gbFromName(model: string): number | null {
  const m = /-(\d+)GB/i.exec(model);
  return m ? Number(m[1]) * 1024 : null;
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
