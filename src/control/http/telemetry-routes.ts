import { z } from 'zod';
import { costQuerySchema, costReportSchema, eventSchema, eventsQuerySchema, gpuTopRowSchema, wasteQuerySchema, wasteReportSchema } from '../../core/telemetry-api.js';
import type { CostService } from '../services/cost-service.js';
import type { EventService } from '../services/event-service.js';
import type { BudgetService } from '../services/budget-service.js';
import { alertSchema, alertsQuerySchema, budgetStatusSchema } from '../../core/telemetry-api.js';
import { requireUser } from './principal.js';
import { route, type RouteDef } from './routes.js';

/** Cost, waste and the live GPU view (docs/cost.md); the fleet's events. */
export function telemetryRoutes(cost: CostService, events: EventService, budgets: BudgetService): RouteDef[] {
  return [
    route({
      method: 'GET', path: '/v1/alerts', summary: 'SLO burn-rate alerts: those firing now, and the history since `since`', tag: 'telemetry', auth: 'user',
      query: alertsQuerySchema, response: z.object({ firing: z.array(alertSchema), history: z.array(alertSchema) }),
      handler: async ({ principal, query }) => events.alerts(requireUser(principal), query.since),
    }),
    route({
      method: 'GET', path: '/v1/budgets', summary: 'Each team budget: its limits, what the team spent this period, whether it is over', tag: 'telemetry', auth: 'user',
      response: z.object({ items: z.array(budgetStatusSchema) }),
      handler: async ({ principal }) => ({
        items: (await budgets.list(requireUser(principal))).map((b) => ({ ...b, since: new Date(b.since).toISOString() })),
      }),
    }),
    route({
      method: 'GET', path: '/v1/events', summary: 'What changed: events with actor, target and time, oldest first (the newest `limit`)', tag: 'telemetry', auth: 'user',
      query: eventsQuerySchema, response: z.object({ items: z.array(eventSchema) }),
      handler: async ({ principal, query }) => ({ items: await events.list(requireUser(principal), query) }),
    }),
    route({
      method: 'GET', path: '/v1/cost', summary: 'GPU cost and efficiency per workload, team and queue over a window', tag: 'telemetry', auth: 'user',
      query: costQuerySchema, response: costReportSchema,
      handler: async ({ principal, query }) => cost.cost(requireUser(principal), query),
    }),
    route({
      method: 'GET', path: '/v1/waste', summary: 'Workloads that held GPUs idle (below an activity threshold) for longer than a duration', tag: 'telemetry', auth: 'user',
      query: wasteQuerySchema, response: wasteReportSchema,
      handler: async ({ principal, query }) => cost.waste(requireUser(principal), query),
    }),
    route({
      method: 'GET', path: '/v1/gpus', summary: 'Every GPU: its holder and the latest sample its node sent', tag: 'telemetry', auth: 'user',
      response: z.object({ items: z.array(gpuTopRowSchema) }),
      handler: async ({ principal }) => {
        requireUser(principal);
        return { items: await cost.top() };
      },
    }),
  ];
}
