import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { ApiError } from '../../core/errors.js';
import { prometheusContentType, type Registry } from '../../observe/metrics.js';
import type { ControlContext } from '../context.js';
import { route, type RouteDef } from './routes.js';

/** Health, readiness, metrics, the OpenAPI document and the console page: no token needed. */
export interface MetricsSource {
  registry: Registry;
  /** Brings the gauges read from the database up to date before a scrape. */
  refresh(): Promise<void>;
}

export function systemRoutes(ctx: ControlContext, metrics: MetricsSource, openapi: () => unknown, consolePath: string): RouteDef[] {
  return [
    route({
      method: 'GET', path: '/healthz', summary: 'The process is up', tag: 'system', auth: 'public',
      handler: async () => ({ status: 'ok' }),
    }),
    route({
      method: 'GET', path: '/readyz', summary: 'The database answers', tag: 'system', auth: 'public',
      handler: async () => {
        try {
          await sql`select 1`.execute(ctx.db);
        } catch {
          throw new ApiError('unavailable', 'the database does not answer');
        }
        return { status: 'ready', store: ctx.store.kind };
      },
    }),
    route({
      method: 'GET', path: '/metrics', summary: 'Prometheus metrics', tag: 'system', auth: 'public',
      handler: async ({ reply }) => {
        await metrics.refresh();
        return reply.header('content-type', prometheusContentType).send(await metrics.registry.metrics());
      },
    }),
    route({
      method: 'GET', path: '/openapi.json', summary: 'This API as OpenAPI 3.1', tag: 'system', auth: 'public',
      handler: async () => openapi(),
    }),
    route({
      method: 'GET', path: '/', summary: 'The web console', tag: 'system', auth: 'public',
      handler: async ({ reply }) => reply.header('content-type', 'text/html; charset=utf-8').send(await readFile(consolePath, 'utf8')),
    }),
  ];
}
