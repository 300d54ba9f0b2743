import { z } from 'zod';
import { costQuerySchema, costReportSchema, gpuTopRowSchema, wasteQuerySchema, wasteReportSchema } from '../../core/telemetry-api.js';
import type { CostService } from '../services/cost-service.js';
import { requireUser } from './principal.js';
import { route, type RouteDef } from './routes.js';

/** Cost, waste and the live GPU view (docs/cost.md). */
export function telemetryRoutes(cost: CostService): RouteDef[] {
  return [
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
