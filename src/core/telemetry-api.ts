import { z } from 'zod';
import { nameSchema } from './names.js';
import { parseDurationSeconds } from './quantities.js';

/**
 * The telemetry API's inputs and outputs: cost, waste and the live GPU view. Times in queries are
 * either a duration back from now (`7d`, `24h`, `90m`) or a timestamp (`2026-01-31T00:00:00Z`).
 */

const timeRefMessage = 'must be a duration back from now (7d, 24h, 90m) or a time such as 2026-01-31T00:00:00Z';

export const timeRefSchema = z
  .string()
  .min(1)
  .max(64)
  .refine((v) => parseDurationSeconds(v) !== null || !Number.isNaN(Date.parse(v)), timeRefMessage);

/** The time a valid time reference names, in ms since the epoch. */
export function resolveTimeRef(ref: string, nowMs: number): number {
  const seconds = parseDurationSeconds(ref);
  return seconds !== null ? nowMs - seconds * 1000 : Date.parse(ref);
}

export const costQuerySchema = z.strictObject({
  since: timeRefSchema.default('7d'),
  until: timeRefSchema.optional().describe('Default: now'),
  team: nameSchema.optional().describe("Only this team's workloads (a member always sees only their team)"),
});
export type CostQuery = z.infer<typeof costQuerySchema>;

export const wasteQuerySchema = costQuerySchema.extend({
  activityBelow: z.coerce.number().min(0).max(1).default(0.05).describe('A GPU is idle while its engine activity is below this fraction'),
  longerThan: z
    .string()
    .max(32)
    .refine((v) => parseDurationSeconds(v) !== null, 'must be a duration such as 30m, 2h or a number of seconds')
    .default('30m')
    .describe('Only idle stretches longer than this count'),
});
export type WasteQuery = z.infer<typeof wasteQuerySchema>;

const windowSchema = z.object({ since: z.string(), until: z.string() });

const usageRowSchema = z.object({
  allocatedGpuHours: z.number(),
  usedGpuHours: z.number(),
  billableGpuHours: z.number(),
  cost: z.number(),
  unpricedGpuHours: z.number(),
  measuredGpuHours: z.number(),
  activityGpuHours: z.number(),
  efficiency: z.number().nullable(),
});
const unheldRowSchema = z.object({ gpuHours: z.number(), cost: z.number(), unpricedGpuHours: z.number() });

export const costReportSchema = z.object({
  window: windowSchema,
  byWorkload: z.array(usageRowSchema.extend({ workloadId: z.string(), workload: z.string(), team: z.string(), queue: z.string() })),
  byTeam: z.array(usageRowSchema.extend({ team: z.string() })),
  byQueue: z.array(usageRowSchema.extend({ queue: z.string() })),
  idle: unheldRowSchema.nullable().describe('GPU-time nobody held or used; null when the report is limited to one team'),
  unallocatedUse: unheldRowSchema.nullable(),
  totals: unheldRowSchema.nullable(),
});
export type CostReportView = z.infer<typeof costReportSchema>;

export const wasteReportSchema = z.object({
  window: windowSchema,
  activityBelow: z.number(),
  longerThanSeconds: z.number(),
  items: z.array(
    z.object({
      workloadId: z.string(),
      workload: z.string(),
      team: z.string(),
      queue: z.string(),
      gpus: z.number().int(),
      longestIdleSeconds: z.number(),
      wastedGpuHours: z.number(),
      cost: z.number(),
      stretches: z.array(z.object({ node: z.string(), gpuIndex: z.number().int(), from: z.string(), to: z.string(), gpuHours: z.number(), cost: z.number() })),
    }),
  ),
});
export type WasteReportView = z.infer<typeof wasteReportSchema>;

export const gpuTopRowSchema = z.object({
  node: z.string(),
  nodeState: z.string(),
  gpu: z.number().int(),
  model: z.string(),
  workload: z.string().nullable(),
  team: z.string().nullable(),
  queue: z.string().nullable(),
  utilPct: z.number().nullable(),
  activity: z.number().nullable(),
  memoryUsedMiB: z.number().nullable(),
  memoryTotalMiB: z.number().nullable(),
  powerW: z.number().nullable(),
  tempC: z.number().nullable(),
  sampledAt: z.string().nullable().describe('When the node took this sample; null when it sent none'),
});
export type GpuTopRow = z.infer<typeof gpuTopRowSchema>;

export const eventTargetKinds = ['workload', 'node', 'service', 'queue', 'team', 'cluster'] as const;

export const eventsQuerySchema = z.strictObject({
  since: timeRefSchema.optional().describe('Default: no lower bound'),
  until: timeRefSchema.optional(),
  kind: z
    .string()
    .max(500)
    .regex(/^[a-z][a-z._-]*(,[a-z][a-z._-]*)*$/, 'must be event kinds separated by commas, e.g. node.lost,workload.preempted, or a family such as workload.')
    .optional()
    .describe('Kinds, comma-separated; one ending in a dot takes its whole family (workload.)'),
  target: z
    .string()
    .max(200)
    .regex(new RegExp(`^(${eventTargetKinds.join('|')})(/.+)?$`), `must be KIND or KIND/NAME, KIND one of ${eventTargetKinds.join(', ')}`)
    .optional()
    .describe('workload/NAME, node/NAME, service/NAME, queue/NAME, team/NAME, cluster/NAME, or a kind alone'),
  actor: z.string().min(1).max(200).optional(),
  after: z.coerce.number().int().min(0).optional().describe('Only events after this id (to follow)'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type EventsQuery = z.infer<typeof eventsQuerySchema>;

export const eventSchema = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string().describe('A user, node:<id>, scheduler or system'),
  kind: z.string(),
  targetKind: z.string(),
  targetId: z.string(),
  target: z.string().nullable().describe('The target’s name; null when it is gone'),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type EventView = z.infer<typeof eventSchema>;

export const budgetStatusSchema = z.object({
  team: z.string(),
  period: z.enum(['day', 'week', 'month']),
  since: z.string().describe('Start of the current period (UTC)'),
  limitGpuHours: z.number().nullable(),
  limitMoney: z.number().nullable(),
  usedGpuHours: z.number(),
  usedMoney: z.number(),
  over: z.boolean().describe('Over budget: only its preemptible work is admitted'),
  reason: z.string().nullable(),
});
export type BudgetStatusView = z.infer<typeof budgetStatusSchema>;

export const alertSchema = z.object({
  id: z.number().int().describe('The event that raised or resolved it'),
  service: z.string(),
  objective: z.enum(['availability', 'ttft']),
  target: z.number(),
  severity: z.enum(['page', 'ticket']),
  state: z.enum(['firing', 'resolved']),
  at: z.string(),
  longBurn: z.number(),
  shortBurn: z.number(),
  changes: z.array(z.object({ at: z.string(), actor: z.string(), kind: z.string(), target: z.string(), message: z.string() })).describe('Changes to the service, its nodes and its queue in the hour before'),
});
export type AlertView = z.infer<typeof alertSchema>;

export const alertsQuerySchema = z.strictObject({ since: timeRefSchema.default('24h').describe('How far back the history goes') });
