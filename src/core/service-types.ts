import { z } from 'zod';
import { nameSchema } from './names.js';
import { checkJobSpec, isoDate, jobSpecFields, resolveJobRequest, type ResolvedJobRequest } from './api-types.js';
import { workloadStates } from './workload-state.js';
import { autoscalingSchema } from './autoscaling.js';
import { rolloutSpecSchema, rolloutStateSchema } from './rollout-types.js';

/**
 * A service is a set of replicas of one model server behind the gateway. Each replica is a
 * workload of its own (kind `service`, one replica, no gang): the scheduler places them one by
 * one, and a replica that ends for any reason is placed again after a backoff.
 */

/** OpenAI model ids such as `llama-3-8b` or `meta-llama/Llama-3.1-8B-Instruct`. */
export const modelNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/, 'must be letters, digits and . _ : / @ + -, starting with a letter or digit');

export const servicePortSchema = z
  .union([z.literal('auto'), z.number().int().min(1).max(65535)])
  .default('auto')
  .describe('Port the server listens on, passed as PORT and GPUFLEET_PORT; auto: the agent picks a free one');

export const readinessSchema = z
  .strictObject({
    path: z
      .string()
      .max(1024)
      .regex(/^\/[^\s?#]*(\?[^\s#]*)?$/, 'must be an HTTP path starting with /')
      .default('/v1/models')
      .describe('GET this path on the replica; a 2xx answer means ready'),
  })
  .default({ path: '/v1/models' });

export const sloSpecSchema = z
  .strictObject({
    availability: z.number().min(0.5).max(0.99999).optional().describe('Share of answers that are not server errors, e.g. 0.999'),
    ttft: z
      .strictObject({
        thresholdMs: z.number().positive().max(600_000).describe('Time to first token a request should beat'),
        target: z.number().min(0.5).max(0.99999).default(0.95).describe('Share of requests that beat it: 0.95 for a p95 objective'),
      })
      .optional(),
  })
  .refine((s) => s.availability !== undefined || s.ttft !== undefined, { message: 'needs availability or ttft' });
export type SloSpec = z.infer<typeof sloSpecSchema>;

const serviceSpecFields = jobSpecFields.omit({ replicas: true, timeLimit: true, priorityClass: true, cluster: true }).extend({
  model: modelNameSchema.describe('Model name clients ask for (`model` in OpenAI requests); one service per model'),
  version: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'must be letters, digits and . _ + -').default('v1').describe('Version of the model server, shown in metrics'),
  replicas: z.number().int().min(0).max(256).default(1).describe('Independent replicas (not a gang): each is placed and restarted on its own'),
  priorityClass: jobSpecFields.shape.priorityClass.unwrap().default('inference').describe('Default inference: priority 400, not preemptible'),
  port: servicePortSchema,
  readiness: readinessSchema,
  autoscaling: autoscalingSchema.optional().describe('Replicas follow the load between min and max; `replicas` is then only the starting count'),
  rollout: rolloutSpecSchema.describe('How a change of version is rolled out'),
  slo: sloSpecSchema.optional().describe('Objectives gpufleet alerts on by burn rate (docs/slo.md)'),
});

export const serviceSpecSchema = serviceSpecFields.superRefine(checkJobSpec);
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

export const servicePutSchema = serviceSpecFields
  .extend({ team: nameSchema.optional().describe('Defaults to the caller’s team (admins: "default")') })
  .superRefine(checkJobSpec);
export type ServicePut = z.infer<typeof servicePutSchema>;

/** The scheduling request of one replica of the service. */
export function resolveServiceReplicaRequest(spec: ServiceSpec): ResolvedJobRequest {
  return resolveJobRequest({ ...spec, replicas: 1, timeLimit: undefined });
}

export const serviceEndpointSchema = z.object({
  replicaId: z.string(),
  workload: z.string(),
  index: z.number().int(),
  model: z.string(),
  version: z.string(),
  url: z.string().describe('Base URL of the replica, e.g. http://10.0.0.5:41234'),
  node: z.string(),
});
export type ServiceEndpoint = z.infer<typeof serviceEndpointSchema>;

export const serviceReplicaSchema = z.object({
  index: z.number().int(),
  workload: z.string(),
  version: z.string(),
  state: z.enum(workloadStates),
  draining: z.boolean().describe('Out of the routing table, stopped once its requests in flight are done'),
  node: z.string().nullable(),
  url: z.string().nullable(),
  ready: z.boolean(),
  restarts: z.number().int().describe('Times this replica ended and was placed again'),
  reason: z.string().nullable(),
});

export const serviceSchema = z.object({
  id: z.string(),
  name: z.string(),
  team: z.string(),
  queue: z.string(),
  model: z.string(),
  version: z.string(),
  replicas: z.number().int(),
  readyReplicas: z.number().int(),
  spec: z.record(z.string(), z.unknown()).describe('The spec as applied, defaults filled in'),
  endpoints: z.array(serviceEndpointSchema).describe('Ready replicas: what the gateway routes to'),
  weights: z.record(z.string(), z.number()).describe('Share of traffic per version in percent (a rollout splits it)'),
  rollout: rolloutStateSchema.omit({ windowStart: true, stableSpec: true }).nullable().describe('The current or last rollout'),
  replicaStatus: z.array(serviceReplicaSchema),
  resourceVersion: z.number().int(),
  createdAt: isoDate,
  updatedAt: isoDate,
});
export type Service = z.infer<typeof serviceSchema>;
