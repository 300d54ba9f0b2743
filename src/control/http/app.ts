import Fastify, { type FastifyInstance, type FastifyError, type FastifyRequest } from 'fastify';
import type { Logger } from '../../observe/logger.js';
import { ApiError } from '../../core/errors.js';
import { parseOrThrow } from '../../core/zod-issues.js';
import { findUnstorableText } from '../../core/storable-text.js';
import { IllegalTransitionError } from '../../core/workload-state.js';
import type { Principal } from './principal.js';
import type { RouteDef } from './routes.js';
import type { HttpMetrics } from '../metrics.js';
import { endRequestSpan, type Span } from '../../observe/request-span.js';
import type { Tracing } from '../../observe/tracing.js';
import { runWithLogFields, type LogFields } from '../../observe/log-context.js';
import { formatTraceparent, newRequestId, requestTrace, traceFields } from '../../observe/trace-context.js';

export interface AppDeps {
  logger: Logger;
  routes: RouteDef[];
  authenticate(bearer: string | undefined, auth: RouteDef['auth']): Promise<Principal>;
  metrics: HttpMetrics;
  /** Request spans; none when no OTLP endpoint is configured. */
  tracing?: Tracing | undefined;
}

function bearerOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

/** Turns anything thrown into the API's one error shape; bad input is never a 5xx. */
function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof IllegalTransitionError) return new ApiError('invalid_state', err.message);
  const fe = err as FastifyError;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.statusCode === 413) return new ApiError('payload_too_large', 'request body is too large');
    if (fe.statusCode === 404) return new ApiError('not_found', fe.message);
    return new ApiError('invalid_request', fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? `request body is not valid JSON: ${fe.message}` : fe.message);
  }
  return new ApiError('internal', 'internal error; see the server log');
}

function rejectUnstorableText(def: RouteDef, parts: Record<string, unknown>): void {
  for (const [where, value] of Object.entries(parts)) {
    if (where === 'body' && def.rawTextBody) continue;
    const issue = findUnstorableText(value);
    if (issue) {
      const path = where === 'body' ? issue.path : `${where}.${issue.path}`;
      throw new ApiError('invalid_request', `invalid ${where === 'body' ? 'request body' : where}: ${path}: ${issue.message}`, { issues: [{ path, message: issue.message }] });
    }
  }
}

/** The workload a request is about, for its span and log lines: the `:ref` of a workload route. */
function workloadOf(route: string, params: unknown): string | undefined {
  if (!route.startsWith('/v1/workloads/:ref')) return undefined;
  const ref = (params as { ref?: unknown } | undefined)?.ref;
  return typeof ref === 'string' ? ref : undefined;
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    genReqId: newRequestId,
    bodyLimit: 16 * 1024 * 1024,
    // Agents' long-polls sit idle up to a minute; keep-alive must outlast them.
    keepAliveTimeout: 75_000,
    requestTimeout: 120_000,
    return503OnClosing: true,
  });

  const spans = new WeakMap<object, Span>();
  /** The fields every log line about a request carries: Fastify's request id, the trace, the workload (log-context.ts). */
  const fields = new WeakMap<object, LogFields>();
  const requestFields = (request: FastifyRequest): LogFields => ({ request_id: request.id, ...fields.get(request) });

  app.setErrorHandler((err, request, reply) => {
    const apiError = toApiError(err);
    if (apiError.code === 'internal') deps.logger.error({ err, url: request.url, method: request.method, ...requestFields(request) }, 'request failed');
    void reply.status(apiError.status).send(apiError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(new ApiError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`).toBody());
  });

  const { tracing } = deps;
  // Callback hooks, so that what follows runs inside the request's log context: onRequest enters
  // it, and preValidation enters it again because body parsing runs in the socket's context.
  app.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    const span = tracing?.startRequestSpan(route ? `${request.method} ${route}` : request.method, request.headers, {
      'http.request.method': request.method,
      'url.path': request.url.split('?', 1)[0],
      ...(route ? { 'http.route': route } : {}),
    });
    if (span) spans.set(request, span);
    const trace = requestTrace(request.headers, span);
    void reply.header('traceparent', formatTraceparent(trace));
    const workload = workloadOf(route ?? '', request.params);
    const own: LogFields = { request_id: request.id, ...traceFields(trace), ...(workload ? { workload } : {}) };
    fields.set(request, own);
    // Fastify's own logger stays off (it would log each request at info and its listen address);
    // what handlers write to request.log goes to the server's, with the request's fields.
    request.log = deps.logger;
    runWithLogFields(own, done);
  });
  app.addHook('preValidation', (request, _reply, done) => {
    runWithLogFields(fields.get(request) ?? {}, done);
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const span = spans.get(request);
    if (span) {
      const workload = workloadOf(route, request.params);
      if (workload) span.setAttribute('gpufleet.workload', workload);
      endRequestSpan(span, reply.statusCode);
    }
    // Built only when wanted: this runs on every request.
    if (deps.logger.isLevelEnabled('debug')) deps.logger.debug({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime), ...requestFields(request) }, 'request');
  });

  for (const def of deps.routes) {
    app.route({
      method: def.method,
      url: def.path,
      handler: async (request, reply) => {
        const principal = await deps.authenticate(bearerOf(request.headers.authorization), def.auth);
        rejectUnstorableText(def, { path: request.params, query: request.query, body: request.body });
        const params = def.params ? parseOrThrow(def.params, request.params, 'path') : undefined;
        const query = def.query ? parseOrThrow(def.query, request.query ?? {}, 'query') : undefined;
        const body = def.body ? parseOrThrow(def.body, request.body ?? {}, '') : undefined;
        const controller = new AbortController();
        request.raw.on('close', () => {
          if (!reply.sent) controller.abort();
        });
        const result = await def.handler({ params, query, body, principal, request, reply, signal: controller.signal });
        if (reply.sent) return reply;
        if (def.status === 204 || result === undefined) return reply.status(def.status ?? 204).send();
        return reply.status(def.status ?? 200).send(result);
      },
    });
  }
  return app;
}
