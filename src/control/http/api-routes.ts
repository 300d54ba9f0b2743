import { z } from 'zod';
import { nameSchema } from '../../core/names.js';
import {
  applyResultSchema,
  explanationSchema,
  workloadEventSchema,
  joinTokenCreatedSchema,
  logsPageSchema,
  logsQuerySchema,
  nodeSchema,
  queuePutSchema,
  queueSchema,
  teamPutSchema,
  teamSchema,
  tokenCreateSchema,
  tokenCreatedSchema,
  whoamiSchema,
  workloadListQuerySchema,
  workloadSchema,
  workloadSubmitSchema,
} from '../../core/api-types.js';
import type { ControlContext } from '../context.js';
import type { AuthService } from '../services/auth-service.js';
import type { TeamService } from '../services/team-service.js';
import type { QueueService } from '../services/queue-service.js';
import type { WorkloadService } from '../services/workload-service.js';
import type { NodeService } from '../services/node-service.js';
import { requireAdmin, requireUser } from './principal.js';
import { route, type RouteDef } from './routes.js';

export interface Services {
  ctx: ControlContext;
  auth: AuthService;
  teams: TeamService;
  queues: QueueService;
  workloads: WorkloadService;
  nodes: NodeService;
}

const nameParams = z.strictObject({ name: nameSchema });
const refParams = z.strictObject({ ref: z.string().min(1).max(128) });
const teamQuery = z.strictObject({ team: nameSchema.optional() });
const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

/** The user-facing API (`/v1/...` minus the agent protocol). */
export function userRoutes(s: Services): RouteDef[] {
  return [
    route({
      method: 'GET', path: '/v1/whoami', summary: 'Who the token belongs to', tag: 'auth', auth: 'user', response: whoamiSchema,
      handler: async ({ principal }) => {
        const u = requireUser(principal);
        return { tokenId: u.tokenId, name: u.name, role: u.role, team: u.teamName };
      },
    }),
    route({
      method: 'POST', path: '/v1/tokens', summary: 'Create an API token (shown once)', tag: 'auth', auth: 'user', body: tokenCreateSchema, response: tokenCreatedSchema, status: 201,
      handler: async ({ principal, body }) => {
        requireAdmin(principal);
        const created = await s.auth.createApiToken(s.ctx.db, body);
        return { id: created.id, name: body.name, role: body.role, team: created.team, token: created.token };
      },
    }),
    route({
      method: 'POST', path: '/v1/join-tokens', summary: 'Create a join token for agents', tag: 'auth', auth: 'user', response: joinTokenCreatedSchema, status: 201,
      handler: async ({ principal }) => {
        requireAdmin(principal);
        const t = await s.auth.createJoinToken(s.ctx.db, 24 * 3600 * 1000);
        return { id: t.id, token: t.token, expiresAt: t.expiresAt?.toISOString() ?? null };
      },
    }),
    route({
      method: 'GET', path: '/v1/teams', summary: 'List teams', tag: 'teams', auth: 'user', response: list(teamSchema),
      handler: async ({ principal }) => ({ items: await s.teams.list(requireUser(principal)) }),
    }),
    route({
      method: 'GET', path: '/v1/teams/:name', summary: 'Get a team', tag: 'teams', auth: 'user', params: nameParams, response: teamSchema,
      handler: async ({ principal, params }) => s.teams.get(requireUser(principal), params.name),
    }),
    route({
      method: 'PUT', path: '/v1/teams/:name', summary: 'Create or update a team', tag: 'teams', auth: 'user', params: nameParams, body: teamPutSchema,
      response: applyResultSchema.extend({ team: teamSchema }),
      handler: async ({ principal, params, body }) => s.teams.put(requireAdmin(principal), params.name, body.version),
    }),
    route({
      method: 'DELETE', path: '/v1/teams/:name', summary: 'Delete a team with no queues', tag: 'teams', auth: 'user', params: nameParams, status: 204,
      handler: async ({ principal, params }) => s.teams.delete(requireAdmin(principal), params.name),
    }),
    route({
      method: 'GET', path: '/v1/queues', summary: 'List queues with their usage', tag: 'queues', auth: 'user', response: list(queueSchema),
      handler: async ({ principal }) => ({ items: await s.queues.list(requireUser(principal)) }),
    }),
    route({
      method: 'GET', path: '/v1/queues/:name', summary: 'Get a queue', tag: 'queues', auth: 'user', params: nameParams, response: queueSchema,
      handler: async ({ principal, params }) => s.queues.get(requireUser(principal), params.name),
    }),
    route({
      method: 'PUT', path: '/v1/queues/:name', summary: 'Create or update a queue and its GPU quotas', tag: 'queues', auth: 'user', params: nameParams, body: queuePutSchema,
      response: applyResultSchema.extend({ queue: queueSchema }),
      handler: async ({ principal, params, body }) => {
        const { version, ...spec } = body;
        return s.queues.put(requireAdmin(principal), params.name, spec, version);
      },
    }),
    route({
      method: 'DELETE', path: '/v1/queues/:name', summary: 'Delete a queue with no active workloads', tag: 'queues', auth: 'user', params: nameParams, status: 204,
      handler: async ({ principal, params }) => s.queues.delete(requireAdmin(principal), params.name),
    }),
    route({
      method: 'POST', path: '/v1/workloads', summary: 'Submit a job', tag: 'workloads', auth: 'user', body: workloadSubmitSchema, response: workloadSchema, status: 201,
      handler: async ({ principal, body }) => s.workloads.submit(requireUser(principal), body),
    }),
    route({
      method: 'GET', path: '/v1/workloads', summary: 'List workloads, newest first', tag: 'workloads', auth: 'user', query: workloadListQuerySchema, response: list(workloadSchema),
      handler: async ({ principal, query }) => ({ items: await s.workloads.list(requireUser(principal), query) }),
    }),
    route({
      method: 'GET', path: '/v1/workloads/:ref', summary: 'Get a workload by id or name', tag: 'workloads', auth: 'user', params: refParams, query: teamQuery, response: workloadSchema,
      handler: async ({ principal, params, query }) => s.workloads.get(requireUser(principal), params.ref, query.team),
    }),
    route({
      method: 'POST', path: '/v1/workloads/:ref/cancel', summary: 'Cancel a workload; its processes get SIGTERM, then SIGKILL', tag: 'workloads', auth: 'user', params: refParams, query: teamQuery, response: workloadSchema,
      handler: async ({ principal, params, query }) => s.workloads.cancel(requireUser(principal), params.ref, query.team),
    }),
    route({
      method: 'GET', path: '/v1/workloads/:ref/explain', summary: 'Why a workload waits (ranked reasons) or how it ended', tag: 'workloads', auth: 'user', params: refParams, query: teamQuery, response: explanationSchema,
      handler: async ({ principal, params, query }) => s.workloads.explain(requireUser(principal), params.ref, query.team),
    }),
    route({
      method: 'GET', path: '/v1/workloads/:ref/events', summary: 'A workload’s events, oldest first (submitted, admitted, preempted, …)', tag: 'workloads', auth: 'user', params: refParams, query: teamQuery,
      response: list(workloadEventSchema),
      handler: async ({ principal, params, query }) => ({ items: await s.workloads.events(requireUser(principal), params.ref, query.team) }),
    }),
    route({
      method: 'GET', path: '/v1/workloads/:ref/logs', summary: 'Read (and long-poll) a workload’s output', tag: 'workloads', auth: 'user', params: refParams,
      query: logsQuerySchema.extend({ team: nameSchema.optional() }), response: logsPageSchema,
      handler: async ({ principal, params, query, signal }) =>
        s.workloads.logs(requireUser(principal), params.ref, query.team, query.after, query.waitMs, signal),
    }),
    route({
      method: 'GET', path: '/v1/nodes', summary: 'List nodes and their GPUs', tag: 'nodes', auth: 'user', response: list(nodeSchema),
      handler: async ({ principal }) => {
        requireUser(principal);
        return { items: await s.nodes.list() };
      },
    }),
  ];
}

