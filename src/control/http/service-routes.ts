import { z } from 'zod';
import { nameSchema } from '../../core/names.js';
import { applyResultSchema } from '../../core/api-types.js';
import { serviceEndpointSchema, servicePutSchema, serviceSchema, type Service } from '../../core/service-types.js';
import { gatewayReportSchema } from '../../core/gateway-report.js';
import type { ServingService } from '../services/serving-service.js';
import { requireUser } from './principal.js';
import { route, type RouteDef } from './routes.js';

const nameParams = z.strictObject({ name: nameSchema });
const teamQuery = z.strictObject({ team: nameSchema.optional() });

const rolloutResponse = z.object({ service: z.string(), version: z.string(), weights: serviceSchema.shape.weights, rollout: serviceSchema.shape.rollout });

function rolloutOf(s: Service): z.infer<typeof rolloutResponse> {
  return { service: s.name, version: s.version, weights: s.weights, rollout: s.rollout };
}

/** Services and their endpoints: what `apply` writes and what the gateway reads (docs/services.md). */
export function serviceRoutes(serving: ServingService): RouteDef[] {
  return [
    route({
      method: 'PUT', path: '/v1/services/:name', summary: 'Create or update a service (model server replicas behind the gateway)', tag: 'services', auth: 'user',
      params: nameParams, body: servicePutSchema, response: applyResultSchema.extend({ service: serviceSchema }),
      handler: async ({ principal, params, body }) => serving.put(requireUser(principal), params.name, body),
    }),
    route({
      method: 'GET', path: '/v1/services', summary: 'List services with their ready endpoints (the gateway’s routing table)', tag: 'services', auth: 'user',
      response: z.object({ items: z.array(serviceSchema) }),
      handler: async ({ principal }) => ({ items: await serving.list(requireUser(principal)) }),
    }),
    route({
      method: 'GET', path: '/v1/services/:name', summary: 'Get a service', tag: 'services', auth: 'user', params: nameParams, query: teamQuery, response: serviceSchema,
      handler: async ({ principal, params, query }) => serving.get(requireUser(principal), params.name, query.team),
    }),
    route({
      method: 'GET', path: '/v1/services/:name/endpoints', summary: 'The ready replicas of a service: model, version and URL', tag: 'services', auth: 'user',
      params: nameParams, query: teamQuery, response: z.object({ items: z.array(serviceEndpointSchema) }),
      handler: async ({ principal, params, query }) => ({ items: (await serving.get(requireUser(principal), params.name, query.team)).endpoints }),
    }),
    route({
      method: 'GET', path: '/v1/services/:name/rollout', summary: 'The current or last rollout of a service: step, weights, both versions’ error rate and TTFT p95', tag: 'services', auth: 'user',
      params: nameParams, query: teamQuery, response: rolloutResponse,
      handler: async ({ principal, params, query }) => rolloutOf(await serving.get(requireUser(principal), params.name, query.team)),
    }),
    route({
      method: 'POST', path: '/v1/services/:name/rollout/promote', summary: 'Promote the new version: sized to the full count, promoted (all traffic, old replicas drain) once those replicas are ready', tag: 'services', auth: 'user',
      params: nameParams, query: teamQuery, response: rolloutResponse,
      handler: async ({ principal, params, query }) => rolloutOf(await serving.endRollout(requireUser(principal), params.name, query.team, 'promote')),
    }),
    route({
      method: 'POST', path: '/v1/services/:name/rollout/abort', summary: 'Roll back now: the service returns to the stable version, the new replicas drain', tag: 'services', auth: 'user',
      params: nameParams, query: teamQuery, response: rolloutResponse,
      handler: async ({ principal, params, query }) => rolloutOf(await serving.endRollout(requireUser(principal), params.name, query.team, 'rollback')),
    }),
    route({
      method: 'POST', path: '/v1/gateway/reports', summary: 'A gateway’s per-version counters and held requests (admin tokens; what rollouts and scale from zero read)', tag: 'services', auth: 'user',
      body: gatewayReportSchema, status: 204,
      handler: async ({ principal, body }) => serving.report(requireUser(principal), body),
    }),
    route({
      method: 'DELETE', path: '/v1/services/:name', summary: 'Delete a service; its replicas get SIGTERM, then SIGKILL', tag: 'services', auth: 'user', params: nameParams, query: teamQuery, status: 204,
      handler: async ({ principal, params, query }) => serving.delete(requireUser(principal), params.name, query.team),
    }),
  ];
}
