import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { quotaSchema } from '../../src/core/api-types.js';
import { gpuModelSchema } from '../../src/core/gpu-models.js';

/**
 * A scenario file describes one fleet (nodes, topology, the queue tree) and the scenarios run on it,
 * so that the 20-queue tree is written once and every scenario measures against the same cluster.
 */

const share = z.number().positive().describe('relative weight; the shares of a list need not sum to 1');

const fleetSchema = z.strictObject({
  nodes: z.number().int().min(1).max(100_000),
  gpusPerNode: z.number().int().min(1).max(64),
  models: z.array(z.strictObject({ model: gpuModelSchema, share })).min(1),
  // Node labels `nvlink-domain` and `rack`: FIFO ignores them, topology-aware policies read them.
  topology: z.strictObject({
    nodesPerNvlinkDomain: z.number().int().min(1),
    nodesPerRack: z.number().int().min(1),
  }),
});

const queueSchema = z.strictObject({
  name: z.string().min(1),
  parent: z.string().min(1).nullable(),
  priority: z.number().int().min(-1000).max(1000).default(0),
  quotas: z.array(quotaSchema).default([]),
});

const weightedQueues = z.array(z.strictObject({ queue: z.string().min(1), share })).min(1);

const mixSchema = z.strictObject({
  count: z.number().int().min(0).max(1_000_000),
  sizes: z.array(z.strictObject({ gpus: z.number().int().min(1).max(64), share })).min(1),
  priorities: z.array(z.strictObject({ priority: z.number().int().min(-1000).max(1000), share })).min(1),
  queues: weightedQueues,
  /** Share of workloads that ask for one GPU model (drawn by the fleet's model shares); the rest take any. */
  pinnedModelShare: z.number().min(0).max(1).default(0),
});

/** One workload of many replicas (all start or none do), watched until it is placed. */
const groupSchema = z.strictObject({
  replicas: z.number().int().min(1).max(100_000),
  gpusPerReplica: z.number().int().min(1).max(64),
  gpuModel: gpuModelSchema.nullable().default(null),
  queue: z.string().min(1),
  priority: z.number().int().min(-1000).max(1000).default(0),
  /** Node label all replicas must share (`node`: one node), or that is tried first; none by default. */
  topology: z
    .strictObject({ required: z.string().min(1).nullable().default(null), preferred: z.string().min(1).nullable().default(null) })
    .default({ required: null, preferred: null }),
});

const scenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes'),
  seed: z.number().int().min(0).max(2 ** 32 - 1),
  running: z.strictObject({
    gpuShare: z.number().min(0).max(1).describe('share of all GPUs busy before the first cycle'),
    queues: weightedQueues.describe('whose the running load is'),
  }),
  pending: mixSchema,
  gang: groupSchema.optional(),
  reclaim: groupSchema.optional(),
  cycles: z.strictObject({
    max: z.number().int().min(1),
    warmup: z.number().int().min(0).default(1),
    /** Share of running allocations that end between two cycles; 0 for a frozen fleet. */
    finishShare: z.number().min(0).max(1).default(0),
    /** Top the pending list back up to `pending.count` between cycles, so every cycle sees the same backlog. */
    refill: z.boolean().default(false),
    /** Stop measuring once the policy has used this much time, so a slow policy cannot stall the run. */
    maxPolicySeconds: z.number().positive().default(60),
  }),
});

const fileSchema = z
  .strictObject({
    fleet: fleetSchema,
    queues: z.array(queueSchema).min(1),
    scenarios: z.array(scenarioSchema).min(1),
  })
  .superRefine((file, ctx) => {
    const parents = new Set(file.queues.map((q) => q.parent).filter((p) => p !== null));
    const seen = new Set<string>();
    file.queues.forEach((q, i) => {
      if (seen.has(q.name)) ctx.addIssue({ code: 'custom', path: ['queues', i, 'name'], message: `duplicate queue ${q.name}` });
      // Parents before children: the tree is then acyclic by construction.
      if (q.parent !== null && !seen.has(q.parent))
        ctx.addIssue({ code: 'custom', path: ['queues', i, 'parent'], message: `unknown parent ${q.parent} (list a parent before its children)` });
      seen.add(q.name);
    });
    const leaf = (name: string, path: (string | number)[]) => {
      if (!seen.has(name)) ctx.addIssue({ code: 'custom', path, message: `unknown queue ${name}` });
      else if (parents.has(name)) ctx.addIssue({ code: 'custom', path, message: `${name} has child queues; workloads go to leaf queues` });
    };
    file.scenarios.forEach((s, i) => {
      const at = ['scenarios', i];
      s.running.queues.forEach((q, j) => leaf(q.queue, [...at, 'running', 'queues', j, 'queue']));
      s.pending.queues.forEach((q, j) => leaf(q.queue, [...at, 'pending', 'queues', j, 'queue']));
      if (s.gang) leaf(s.gang.queue, [...at, 'gang', 'queue']);
      if (s.reclaim) leaf(s.reclaim.queue, [...at, 'reclaim', 'queue']);
    });
  });

export type Fleet = z.infer<typeof fleetSchema>;
export type QueueNode = z.infer<typeof queueSchema>;
export type Scenario = z.infer<typeof scenarioSchema>;
export type WorkloadMix = z.infer<typeof mixSchema>;
export type ReplicaGroup = z.infer<typeof groupSchema>;
export type ScenarioFile = z.infer<typeof fileSchema>;

/** Parses and validates a scenario file's text; the error names the file and each bad field. */
export function parseScenarioFile(text: string, source: string): ScenarioFile {
  let data: unknown;
  try {
    // Merge keys (`<<: *backlog`) let scenarios share a workload mix and change one field.
    data = parse(text, { merge: true });
  } catch (err) {
    throw new Error(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  const result = fileSchema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(file)'}: ${i.message}`);
  throw new Error(`${source}: invalid scenario file\n${issues.join('\n')}`);
}

export function loadScenarioFile(path: string): ScenarioFile {
  return parseScenarioFile(readFileSync(path, 'utf8'), path);
}
