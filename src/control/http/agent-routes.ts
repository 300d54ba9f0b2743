import {
  desiredStateSchema,
  heartbeatRequestSchema,
  logsUploadSchema,
  registerRequestSchema,
  registerResponseSchema,
  watchQuerySchema,
} from '../../core/agent-protocol.js';
import { requireNode } from './principal.js';
import { toStorableText } from '../../core/storable-text.js';
import { route, type RouteDef } from './routes.js';
import type { Services } from './api-routes.js';

/** The agent protocol: agents dial out, so every call starts at the agent. */
export function agentRoutes(s: Services): RouteDef[] {
  return [
    route({
      method: 'POST', path: '/v1/agent/register', summary: 'Join the fleet with a join token', tag: 'agent', auth: 'agent-join',
      body: registerRequestSchema, response: registerResponseSchema,
      handler: async ({ body }) => s.nodes.register(body),
    }),
    route({
      method: 'POST', path: '/v1/agent/heartbeat', summary: 'Report replica states; receive desired assignments', tag: 'agent', auth: 'node',
      body: heartbeatRequestSchema, response: desiredStateSchema,
      handler: async ({ principal, body }) => s.nodes.heartbeat(requireNode(principal).nodeId, body),
    }),
    route({
      method: 'GET', path: '/v1/agent/assignments', summary: 'Long-poll for changed assignments', tag: 'agent', auth: 'node',
      query: watchQuerySchema, response: desiredStateSchema,
      handler: async ({ principal, query, signal }) => s.nodes.watch(requireNode(principal).nodeId, query.revision, query.waitMs, signal),
    }),
    route({
      method: 'POST', path: '/v1/agent/logs', summary: 'Upload replica output (idempotent by offset)', tag: 'agent', auth: 'node',
      body: logsUploadSchema, status: 204, rawTextBody: true,
      handler: async ({ principal, body }) =>
        s.nodes.uploadLogs(
          requireNode(principal).nodeId,
          body.chunks.map((c) => ({ ...c, replicaId: toStorableText(c.replicaId), data: toStorableText(c.data) })),
        ),
    }),
  ];
}
