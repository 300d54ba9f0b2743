import { z } from 'zod';
import { nameSchema } from './names.js';
import { gpuModelSchema } from './gpu-models.js';
import { workloadStates } from './workload-state.js';
import { replicaStates } from './replica-state.js';
import { nodeStates } from './node-state.js';

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
export const quotaSchema = z.strictObject({
  gpuModel: z.union([z.literal('*'), gpuModelSchema]).default('*').describe('GPU model this quota counts, or * for any'),
  guaranteed: z.number().int().min(0).max(1_000_000).default(0).describe('GPUs always available to this queue'),
  limit: z.number().int().min(0).max(1_000_000).nullable().default(null).describe('Most GPUs this queue may use; null for no limit'),
  overQuotaWeight: z.number().positive().max(1000).default(1).describe('Share of idle GPUs lent to this queue, relative to others'),
});
export type Quota = z.infer<typeof quotaSchema>;

const quotasSchema = z
  .array(quotaSchema)
  .max(64)
  .default([])
  .superRefine((quotas, ctx) => {
    const seen = new Set<string>();
    quotas.forEach((q, i) => {
      if (seen.has(q.gpuModel)) ctx.addIssue({ code: 'custom', path: [i, 'gpuModel'], message: `duplicate quota for ${q.gpuModel}` });
      seen.add(q.gpuModel);
      if (q.limit !== null && q.limit < q.guaranteed)
        ctx.addIssue({ code: 'custom', path: [i, 'limit'], message: 'limit must be at least guaranteed' });
    });
  });

export const queueSpecSchema = z.strictObject({
  team: nameSchema.describe('Team that owns the queue'),
  priority: z.number().int().min(-1000).max(1000).default(0).describe('Queues with higher priority are served first'),
  quotas: quotasSchema,
});
export const queuePutSchema = queueSpecSchema.extend({ version: z.number().int().positive().optional() });
export type QueueSpec = z.infer<typeof queueSpecSchema>;

export const queueSchema = z.object({
  id: z.string(),
  name: z.string(),
  team: z.string(),
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

export const jobSpecSchema = z.strictObject({
  queue: nameSchema.optional().describe("Queue to charge; defaults to the team's queue"),
  gpus: z.number().int().min(0).max(64).default(0).describe('Whole GPUs, all on one node'),
  gpuModel: gpuModelSchema.optional().describe('Only GPUs of this model'),
  command: z.array(z.string().max(65536)).min(1, 'must name a program').max(4096).describe('Program and arguments'),
  env: envSchema,
  workdir: z.string().min(1).max(4096).optional().describe('Working directory on the node'),
  priority: z.number().int().min(-1000).max(1000).default(0).describe('Higher runs first within its queue'),
  gracePeriodSeconds: z.number().int().min(0).max(3600).default(10).describe('Time between SIGTERM and SIGKILL'),
});
export type JobSpec = z.infer<typeof jobSpecSchema>;

export const workloadSubmitSchema = jobSpecSchema.extend({
  name: nameSchema.optional().describe('Unique among the team’s active workloads; generated when omitted'),
  team: nameSchema.optional().describe('Defaults to the caller’s team (admins: "default")'),
});
export type WorkloadSubmit = z.infer<typeof workloadSubmitSchema>;

export const workloadSchema = z.object({
  id: z.string(),
  name: z.string(),
  team: z.string(),
  queue: z.string(),
  kind: z.literal('job'),
  state: z.enum(workloadStates),
  reason: z.string().nullable(),
  gpus: z.number().int(),
  gpuModel: z.string().nullable(),
  priority: z.number().int(),
  command: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  workdir: z.string().nullable(),
  gracePeriodSeconds: z.number().int(),
  generation: z.number().int(),
  attempts: z.number().int(),
  exitCode: z.number().int().nullable(),
  node: z.string().nullable(),
  gpuIndices: z.array(z.number().int()),
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
