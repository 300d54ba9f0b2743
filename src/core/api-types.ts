import { z } from 'zod';
import { nameSchema } from './names.js';
import { gpuModelSchema } from './gpu-models.js';
import { workloadStates } from './workload-state.js';
import { replicaStates } from './replica-state.js';
import { nodeStates } from './node-state.js';
import { parseDurationSeconds, parseMemoryMiB } from './quantities.js';

/** Schemas of the HTTP API's bodies. They are the single source for validation and for /openapi.json. */

export const roleSchema = z.enum(['admin', 'member']);
export type Role = z.infer<typeof roleSchema>;

export const isoDate = z.string().describe('RFC 3339 timestamp');

// ---- teams ----
export const teamPutSchema = z.strictObject({
  version: z.number().int().positive().optional().describe('If given, the update applies only at this version'),
});
export const teamSchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.number().int(),
  createdAt: isoDate,
  updatedAt: isoDate,
});
export type Team = z.infer<typeof teamSchema>;

// ---- queues ----
export const quotaResources = ['gpus', 'cpus', 'memory'] as const;
export type QuotaResource = (typeof quotaResources)[number];

export const quotaSchema = z.strictObject({
  resource: z.enum(quotaResources).default('gpus').describe('What the quota counts: gpus, cpus (cores) or memory (GiB)'),
  gpuModel: z.union([z.literal('*'), gpuModelSchema]).default('*').describe('GPU model this quota counts, or * for any (gpus only)'),
  guaranteed: z.number().min(0).max(1_000_000).default(0).describe('Always available to this queue (GPUs, cores or GiB)'),
  limit: z.number().min(0).max(1_000_000).nullable().default(null).describe('Most this queue (with its children) may use; null for no limit'),
  overQuotaWeight: z.number().positive().max(1000).default(1).describe('Share of idle resources lent to this queue, relative to its siblings'),
  lendingLimit: z.number().min(0).max(1_000_000).nullable().default(null).describe('Most of its idle guaranteed quota this queue lends to others; null lends all'),
});
export type Quota = z.infer<typeof quotaSchema>;

const quotasSchema = z
  .array(quotaSchema)
  .max(64)
  .default([])
  .superRefine((quotas, ctx) => {
    const seen = new Set<string>();
    quotas.forEach((q, i) => {
      if (q.resource !== 'gpus' && q.gpuModel !== '*')
        ctx.addIssue({ code: 'custom', path: [i, 'gpuModel'], message: 'only a gpus quota names a GPU model' });
      const key = `${q.resource}/${q.gpuModel}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'gpuModel'], message: `duplicate ${q.resource} quota for ${q.gpuModel}` });
      seen.add(key);
      if (q.limit !== null && q.limit < q.guaranteed)
        ctx.addIssue({ code: 'custom', path: [i, 'limit'], message: 'limit must be at least guaranteed' });
      if (q.lendingLimit !== null && q.lendingLimit > q.guaranteed)
        ctx.addIssue({ code: 'custom', path: [i, 'lendingLimit'], message: 'lendingLimit must be at most guaranteed' });
    });
  });

export const queueSpecSchema = z.strictObject({
  team: nameSchema.describe('Team that owns the queue'),
  parent: nameSchema.nullable().optional().describe('Parent queue (org → department → project); it must exist'),
  priority: z.number().int().min(-1000).max(1000).default(0).describe('Queues with higher priority are served first'),
  quotas: quotasSchema,
});
export const queuePutSchema = queueSpecSchema.extend({ version: z.number().int().positive().optional() });
export type QueueSpec = z.infer<typeof queueSpecSchema>;

export const queueSchema = z.object({
  id: z.string(),
  name: z.string(),
  team: z.string(),
  parent: z.string().nullable(),
  priority: z.number().int(),
  quotas: z.array(quotaSchema),
  version: z.number().int(),
  createdAt: isoDate,
  updatedAt: isoDate,
  usage: z.record(z.string(), z.number()).describe('GPUs in use, by model'),
});
export type Queue = z.infer<typeof queueSchema>;

// ---- workloads ----
export const envSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string().max(65536))
  .default({});

/** The classes a job can declare; each sets a default priority and whether it may be preempted. */
export const priorityClasses = {
  inference: { priority: 400, preemptible: false },
  train: { priority: 300, preemptible: true },
  interactive: { priority: 200, preemptible: false },
  batch: { priority: 100, preemptible: true },
} as const;
export type PriorityClass = keyof typeof priorityClasses;
const priorityClassNames = Object.keys(priorityClasses) as [PriorityClass, ...PriorityClass[]];

const memoryQuantity = z
  .union([z.string().max(32), z.number()])
  .refine((v) => parseMemoryMiB(v) !== null, 'must be a memory quantity such as 20Gi or 512Mi, or a number of MiB');
const durationQuantity = z
  .union([z.string().max(32), z.number()])
  .refine((v) => parseDurationSeconds(v) !== null && parseDurationSeconds(v)! <= 366 * 86400, 'must be a duration such as 90m, 2h or 1h30m, or a number of seconds (at most a year)');
/** `node` (one node) or a node label key such as `rack` or `nvlink-domain`. */
const topologyKey = z.string().min(1).max(253).regex(/^[a-z0-9A-Z]([-a-z0-9A-Z_./]*[a-z0-9A-Z])?$/, 'must be "node" or a node label key such as rack');

export const jobSpecFields = z.strictObject({
  queue: nameSchema.optional().describe("Queue to charge; defaults to the team's queue"),
  gpus: z
    .number()
    .min(0)
    .max(64)
    .refine((n) => Number.isInteger(n) || n < 1, 'must be a whole number of GPUs (0..64) or a share of one GPU (0 < gpus < 1)')
    .default(0)
    .describe('Whole GPUs per replica, all on one node; or a fraction 0 < x < 1: a share of one GPU'),
  gpuMemory: memoryQuantity.optional().describe('GPU memory per replica (20Gi, 512Mi or MiB): a share of one GPU sized by memory'),
  gpuModel: gpuModelSchema.optional().describe('Only GPUs of this model (kept for compatibility; see gpuModels)'),
  gpuModels: z.array(gpuModelSchema).min(1).max(32).optional().describe('Only GPUs of these models'),
  cpus: z.number().min(0).max(100_000).default(0).describe('CPU cores per replica (may be fractional)'),
  memory: memoryQuantity.default(0).describe('Memory per replica (20Gi, 512Mi or MiB)'),
  replicas: z.number().int().min(1).max(1024).default(1).describe('Replicas of a gang: all start or none do'),
  priorityClass: z.enum(priorityClassNames).optional().describe('inference|train|interactive|batch: sets the default priority and preemptible'),
  command: z.array(z.string().max(65536)).min(1, 'must name a program').max(4096).describe('Program and arguments'),
  env: envSchema,
  workdir: z.string().min(1).max(4096).optional().describe('Working directory on the node'),
  priority: z.number().int().min(-1000).max(1000).optional().describe('Higher runs first and may preempt lower; default from priorityClass, else 0'),
  preemptible: z.boolean().optional().describe('May be stopped and requeued for others; default from priorityClass, else true'),
  topology: z
    .strictObject({
      required: topologyKey.optional().describe('All replicas within one value of this node label (node: one node)'),
      preferred: topologyKey.optional().describe('Tried first; the gang still starts spread when it fits nowhere else'),
    })
    .optional(),
  timeLimit: durationQuantity.optional().describe('Wall-clock limit (90m, 2h, 1h30m or seconds); lets the scheduler backfill'),
  gracePeriodSeconds: z.number().int().min(0).max(3600).default(10).describe('Time between SIGTERM and SIGKILL'),
  cluster: nameSchema.optional().describe('Run only on this cluster (kind: Cluster, e.g. Slurm); default: wherever fits best'),
});

type JobSpecInput = Pick<z.infer<typeof jobSpecFields>, 'gpus' | 'gpuMemory' | 'gpuModel' | 'gpuModels'> & Partial<Pick<z.infer<typeof jobSpecFields>, 'cluster' | 'topology'>>;

/** Rules across fields; each issue names the field to change. */
export function checkJobSpec(spec: JobSpecInput, ctx: z.RefinementCtx): void {
  if (spec.gpuModel !== undefined && spec.gpuModels !== undefined)
    ctx.addIssue({ code: 'custom', path: ['gpuModels'], message: 'give gpuModel or gpuModels, not both' });
  if (spec.gpuMemory !== undefined && spec.gpus >= 1)
    ctx.addIssue({ code: 'custom', path: ['gpuMemory'], message: 'gpuMemory asks for a share of one GPU; it cannot be combined with whole gpus' });
  if (spec.gpuMemory !== undefined && parseMemoryMiB(spec.gpuMemory) === 0)
    ctx.addIssue({ code: 'custom', path: ['gpuMemory'], message: 'must be more than 0' });
  if (spec.cluster !== undefined && (!Number.isInteger(spec.gpus) || spec.gpuMemory !== undefined))
    ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'a cluster runs whole GPUs only; ask for a whole number of gpus' });
  if (spec.cluster !== undefined && spec.topology?.required !== undefined)
    ctx.addIssue({ code: 'custom', path: ['topology', 'required'], message: 'cannot be combined with cluster: the cluster is the required domain' });
}

export const jobSpecSchema = jobSpecFields.superRefine(checkJobSpec);
export type JobSpec = z.infer<typeof jobSpecSchema>;

export const workloadSubmitSchema = jobSpecFields
  .extend({
    name: nameSchema.optional().describe('Unique among the team’s active workloads; generated when omitted'),
    team: nameSchema.optional().describe('Defaults to the caller’s team (admins: "default")'),
  })
  .superRefine(checkJobSpec);
export type WorkloadSubmit = z.infer<typeof workloadSubmitSchema>;

/** A job spec's scheduling request, with the defaults of its priority class applied and quantities in MiB and seconds. */
export interface ResolvedJobRequest {
  gpus: number;
  gpuFraction: number | null;
  gpuMemoryMiB: number | null;
  gpuModels: string[] | null;
  cpus: number;
  memoryMiB: number;
  replicas: number;
  priorityClass: PriorityClass | null;
  priority: number;
  preemptible: boolean;
  topology: { required: string | null; preferred: string | null };
  timeLimitSeconds: number | null;
  cluster: string | null;
}

export function resolveJobRequest(spec: z.infer<typeof jobSpecFields>): ResolvedJobRequest {
  const cls = spec.priorityClass === undefined ? undefined : priorityClasses[spec.priorityClass];
  const whole = Number.isInteger(spec.gpus);
  const models = spec.gpuModels ?? (spec.gpuModel !== undefined ? [spec.gpuModel] : null);
  return {
    gpus: whole ? spec.gpus : 0,
    gpuFraction: whole ? null : spec.gpus,
    gpuMemoryMiB: spec.gpuMemory === undefined ? null : parseMemoryMiB(spec.gpuMemory),
    gpuModels: models === null ? null : [...new Set(models)],
    cpus: spec.cpus,
    memoryMiB: parseMemoryMiB(spec.memory) ?? 0,
    replicas: spec.replicas,
    priorityClass: spec.priorityClass ?? null,
    priority: spec.priority ?? cls?.priority ?? 0,
    preemptible: spec.preemptible ?? cls?.preemptible ?? true,
    topology: { required: spec.topology?.required ?? null, preferred: spec.topology?.preferred ?? null },
    timeLimitSeconds: spec.timeLimit === undefined ? null : parseDurationSeconds(spec.timeLimit),
    cluster: spec.cluster ?? null,
  };
}

export const workloadReplicaSchema = z.object({
  index: z.number().int(),
  node: z.string(),
  state: z.enum(replicaStates),
  gpuIndices: z.array(z.number().int()),
  gpuFraction: z.number().nullable(),
});

export const workloadSchema = z.object({
  id: z.string(),
  name: z.string(),
  team: z.string(),
  queue: z.string(),
  kind: z.enum(['job', 'service']).describe('service: one replica of a service, restarted when it ends'),
  state: z.enum(workloadStates),
  reason: z.string().nullable(),
  reasons: z.array(z.string()).describe('Why it waits, most relevant first (reason is the first)'),
  gpus: z.number().describe('Whole GPUs per replica, or a share of one GPU when below 1'),
  gpuMemoryMiB: z.number().int().nullable(),
  gpuModel: z.string().nullable().describe('The one accepted model, when exactly one'),
  gpuModels: z.array(z.string()).nullable(),
  cpus: z.number(),
  memoryMiB: z.number().int(),
  replicas: z.number().int(),
  priorityClass: z.enum(priorityClassNames).nullable(),
  priority: z.number().int(),
  preemptible: z.boolean(),
  topology: z.object({ required: z.string().nullable(), preferred: z.string().nullable() }),
  timeLimitSeconds: z.number().int().nullable(),
  cluster: z.string().nullable().describe('The cluster it is kept to, if any'),
  command: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  workdir: z.string().nullable(),
  gracePeriodSeconds: z.number().int(),
  generation: z.number().int(),
  attempts: z.number().int(),
  exitCode: z.number().int().nullable(),
  node: z.string().nullable(),
  gpuIndices: z.array(z.number().int()).describe('GPUs of the first replica'),
  replicaStatus: z.array(workloadReplicaSchema).describe('Replicas of the current attempt'),
  version: z.number().int(),
  createdAt: isoDate,
  admittedAt: isoDate.nullable(),
  startedAt: isoDate.nullable(),
  finishedAt: isoDate.nullable(),
});
export type Workload = z.infer<typeof workloadSchema>;

export const workloadListQuerySchema = z.strictObject({
  team: nameSchema.optional(),
  state: z.enum(workloadStates).optional(),
  all: z.enum(['true', 'false']).optional().describe('Include finished workloads (default true)'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const explanationSchema = z.object({
  id: z.string(),
  workload: z.string(),
  state: z.enum(workloadStates),
  reasons: z.array(z.string()).describe('Most relevant first'),
});
export type Explanation = z.infer<typeof explanationSchema>;

export const workloadEventSchema = z.object({
  id: z.number().int(),
  at: isoDate,
  actor: z.string(),
  kind: z.string().describe('e.g. workload.submitted, workload.admitted, workload.preempted'),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type WorkloadEvent = z.infer<typeof workloadEventSchema>;

export const logEntrySchema = z.object({
  id: z.number().int(),
  replicaId: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  data: z.string(),
  at: isoDate,
});
export type LogEntry = z.infer<typeof logEntrySchema>;

export const logsQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(0).default(0).describe('Cursor from the previous page'),
  waitMs: z.coerce.number().int().min(0).max(30000).default(0).describe('Long-poll for new lines up to this long'),
});
export const logsPageSchema = z.object({
  entries: z.array(logEntrySchema),
  cursor: z.number().int(),
  done: z.boolean().describe('The workload is finished and every line has been returned'),
});
export type LogsPage = z.infer<typeof logsPageSchema>;

// ---- nodes ----
export const gpuSchema = z.strictObject({
  index: z.number().int().min(0).max(255),
  uuid: z.string().min(1).max(128),
  model: gpuModelSchema,
  memoryMiB: z.number().int().min(0).max(10_000_000),
});
export type Gpu = z.infer<typeof gpuSchema>;

export const nodeSchema = z.object({
  id: z.string(),
  name: z.string(),
  state: z.enum(nodeStates),
  simulated: z.boolean(),
  labels: z.record(z.string(), z.string()),
  plane: z.string().describe('agent, or the cluster that runs it as backend:name (e.g. slurm:hpc)'),
  gpus: z.array(gpuSchema.extend({ allocatedTo: z.string().nullable() })),
  cpus: z.number().int(),
  memoryMiB: z.number().int(),
  lastHeartbeatAt: isoDate.nullable(),
  agentVersion: z.string(),
  version: z.number().int(),
  createdAt: isoDate,
});
export type Node = z.infer<typeof nodeSchema>;

// ---- tokens and identity ----
export const tokenCreateSchema = z
  .strictObject({
    name: nameSchema,
    role: roleSchema,
    team: nameSchema.optional(),
  })
  .refine((t) => t.role === 'admin' || t.team !== undefined, { path: ['team'], message: 'a member token needs a team' });

export const tokenCreatedSchema = z.object({ id: z.string(), name: z.string(), role: roleSchema, team: z.string().nullable(), token: z.string() });
export const joinTokenCreatedSchema = z.object({ id: z.string(), token: z.string(), expiresAt: isoDate.nullable() });

export const whoamiSchema = z.object({ tokenId: z.string(), name: z.string(), role: roleSchema, team: z.string().nullable() });
export type Whoami = z.infer<typeof whoamiSchema>;

export const applyResultSchema = z.object({ result: z.enum(['created', 'updated', 'unchanged']) });
export type ApplyResult = z.infer<typeof applyResultSchema>['result'];

export const replicaStateSchema = z.enum(replicaStates);
