import { z } from 'zod';
import { nameSchema } from '../../core/names.js';
import { applyResultSchema } from '../../core/api-types.js';
import { clusterPutSchema, clusterSchema } from '../../core/cluster-types.js';
import type { ClusterService } from '../services/cluster-service.js';
import { requireAdmin, requireUser } from './principal.js';
import { route, type RouteDef } from './routes.js';

const nameParams = z.strictObject({ name: nameSchema });
const deleteQuery = z.strictObject({
  force: z.enum(['true', 'false']).optional().describe('Delete even while workloads are active on it: they are requeued and their jobs cancelled'),
});

/** Clusters (`kind: Cluster`): other planes gpufleet admits into, with their sync status (docs/clusters.md). */
export function clusterRoutes(clusters: ClusterService): RouteDef[] {
  return [
    route({
      method: 'PUT', path: '/v1/clusters/:name', summary: 'Create or update a cluster (a Slurm cluster behind slurmrestd)', tag: 'clusters', auth: 'user',
      params: nameParams, body: clusterPutSchema, response: applyResultSchema.extend({ cluster: clusterSchema }),
      handler: async ({ principal, params, body }) => {
        const { version, ...spec } = body;
        return clusters.put(requireAdmin(principal), params.name, spec, version);
      },
    }),
    route({
      method: 'GET', path: '/v1/clusters', summary: 'List clusters with their status', tag: 'clusters', auth: 'user', response: z.object({ items: z.array(clusterSchema) }),
      handler: async ({ principal }) => {
        requireUser(principal);
        return { items: await clusters.list() };
      },
    }),
    route({
      method: 'GET', path: '/v1/clusters/:name', summary: 'Get a cluster and its status', tag: 'clusters', auth: 'user', params: nameParams, response: clusterSchema,
      handler: async ({ principal, params }) => {
        requireUser(principal);
        return clusters.get(params.name);
      },
    }),
    route({
      method: 'DELETE', path: '/v1/clusters/:name', summary: 'Delete a cluster; refused (409) while workloads are active on it, unless force=true requeues them', tag: 'clusters', auth: 'user',
      params: nameParams, query: deleteQuery, status: 204,
      handler: async ({ principal, params, query }) => clusters.delete(requireAdmin(principal), params.name, query.force === 'true'),
    }),
  ];
}
