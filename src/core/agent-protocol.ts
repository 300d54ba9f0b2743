import { z } from 'zod';
import { gpuSchema, envSchema, replicaStateSchema } from './api-types.js';
import { nameSchema } from './names.js';
import { nodeStates } from './node-state.js';

/**
 * The agent dials out to the server: it registers once with a join token, then authenticates with
 * its node credential. Assignments are idempotent by (replicaId, generation): an agent that already
 * runs a replica does nothing when it sees the same assignment again.
 */

export const labelsSchema = z
  .record(z.string().regex(/^[a-z0-9A-Z]([-a-z0-9A-Z_./]*[a-z0-9A-Z])?$/, 'must be a label key'), z.string().max(253))
  .default({});

export const registerRequestSchema = z.strictObject({
  joinToken: z.string().min(1),
  name: nameSchema.describe('Node name, unique in the fleet'),
  gpus: z.array(gpuSchema).max(256),
  simulated: z.boolean(),
  labels: labelsSchema,
  cpus: z.number().int().min(0).max(100_000),
  memoryMiB: z.number().int().min(0).max(1_000_000_000),
  agentVersion: z.string().max(64),
});
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

export const registerResponseSchema = z.object({
  nodeId: z.string(),
  credential: z.string(),
  heartbeatIntervalMs: z.number().int(),
});
export type RegisterResponse = z.infer<typeof registerResponseSchema>;

export const replicaReportSchema = z.strictObject({
  replicaId: z.string().min(1).max(64),
  generation: z.number().int().min(0),
  state: replicaStateSchema,
  exitCode: z.number().int().nullable().default(null),
  message: z.string().max(4096).nullable().default(null),
  // Service replicas only (absent for jobs and from older agents).
  endpoint: z.string().max(512).nullable().optional().describe('Base URL the replica serves on, e.g. http://10.0.0.5:41234'),
  ready: z.boolean().optional().describe('Its readiness probe answers 2xx'),
});
export type ReplicaReport = z.infer<typeof replicaReportSchema>;

export const assignmentSchema = z.object({
  replicaId: z.string(),
  workloadId: z.string(),
  workloadName: z.string(),
  team: z.string(),
  queue: z.string(),
  generation: z.number().int(),
  desired: z.enum(['run', 'stop']),
  gpuIndices: z.array(z.number().int()),
  gpuUuids: z.array(z.string()),
  command: z.array(z.string()),
  env: envSchema,
  workdir: z.string().nullable(),
  gracePeriodMs: z.number().int(),
  // Added with gangs and GPU shares, optional both ways: an older server sends none of them, and an
  // agent's state dir written before them has none (absent: replica 0 of 1, whole GPUs).
  replicaIndex: z.number().int().min(0).optional().describe('Position of this replica in its gang (default 0)'),
  replicas: z.number().int().min(1).optional().describe('Replicas in the gang (default 1)'),
  gpuFraction: z.number().nullable().optional().describe('Share of its one GPU; null or absent for whole GPUs'),
  gpuMemoryMiB: z.number().int().nullable().optional().describe('GPU memory a fractional replica may use, when known'),
  service: z
    .object({
      model: z.string(),
      version: z.string(),
      port: z.number().int().nullable().describe('Null: the agent picks a free port'),
      readinessPath: z.string(),
    })
    .optional()
    .describe('Set for a replica of a service: it gets PORT, and the agent reports its endpoint and readiness'),
});
export type Assignment = z.infer<typeof assignmentSchema>;

const fraction = z.number().min(0).max(1);
const mib = z.number().min(0).max(1e9);

/** What one GPU did over a window in which one replica (or none) held it: the agent's summary of its samples. */
export const gpuUsageSummarySchema = z
  .strictObject({
    gpuIndex: z.number().int().min(0).max(255),
    replicaId: z.string().min(1).max(64).nullable().describe('The replica holding the GPU; null while free'),
    from: z.number().int().min(0).describe('Window start, ms since the epoch'),
    to: z.number().int().min(0).describe('Window end (exclusive), ms since the epoch'),
    samples: z.number().int().min(1),
    activity: fraction.describe('Mean graphics-engine activity'),
    memoryUsedMiB: mib.describe('Mean framebuffer used'),
    memoryUsedMaxMiB: mib,
    used: z.boolean().describe('A process was on the GPU (memory or engine in use)'),
  })
  .refine((u) => u.from < u.to, { message: 'from must be before to', path: ['to'] });
export type GpuUsageSummary = z.infer<typeof gpuUsageSummarySchema>;

/** The latest sample of one GPU, for the live view (`gpufleet top`); null where the source cannot say. */
export const gpuStatSchema = z.strictObject({
  gpuIndex: z.number().int().min(0).max(255),
  at: z.number().int().min(0),
  utilPct: z.number().min(0).max(100).nullable(),
  activity: fraction.nullable(),
  memoryUsedMiB: mib.nullable(),
  memoryTotalMiB: mib.nullable(),
  powerW: z.number().min(0).max(1e5).nullable(),
  tempC: z.number().min(-100).max(1000).nullable(),
});
export type GpuStat = z.infer<typeof gpuStatSchema>;

export const heartbeatRequestSchema = z.strictObject({
  gpus: z.array(gpuSchema).max(256).optional().describe('Inventory, when it changed'),
  replicas: z.array(replicaReportSchema).max(10_000),
  usage: z.array(gpuUsageSummarySchema).max(50_000).optional().describe('GPU usage windows closed since the last answered heartbeat'),
  gpuStats: z.array(gpuStatSchema).max(256).optional().describe('The latest sample of each GPU'),
});
export type HeartbeatRequest = z.infer<typeof heartbeatRequestSchema>;

export const desiredStateSchema = z.object({
  nodeState: z.enum(nodeStates),
  revision: z.number().int().describe('Changes whenever this node’s assignments change'),
  assignments: z.array(assignmentSchema),
  heartbeatIntervalMs: z.number().int(),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;

export const watchQuerySchema = z.strictObject({
  revision: z.coerce.number().int().min(-1).default(-1),
  waitMs: z.coerce.number().int().min(0).max(60_000).default(25_000),
});

export const logChunkSchema = z.strictObject({
  replicaId: z.string().min(1).max(64),
  stream: z.enum(['stdout', 'stderr']),
  offset: z.number().int().min(0).describe('Byte offset of this chunk in the stream; makes retries idempotent'),
  data: z.string().max(1_048_576),
});
export type LogChunk = z.infer<typeof logChunkSchema>;

export const logsUploadSchema = z.strictObject({ chunks: z.array(logChunkSchema).max(1000) });
