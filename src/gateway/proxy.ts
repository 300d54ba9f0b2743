import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Logger } from '../observe/logger.js';
import { prometheusContentType } from '../observe/metrics.js';
import { StreamWatcher, type GatewayMetrics, type RequestLabels } from './metrics.js';
import type { ResolvedModel, RoutedReplica, RoutingTable } from './routing-table.js';
import { promptPrefix, VersionPicker, type Strategy } from './strategies.js';
import type { RateLimiter } from './rate-limits.js';
import type { ColdStartHolds } from './cold-start.js';
import { endRequestSpan, type Span } from '../observe/request-span.js';
import type { Tracing } from '../observe/tracing.js';
import { runWithLogFields, type LogFields } from '../observe/log-context.js';
import { formatTraceparent, newRequestId, parseTraceparent, requestTrace, traceFields, type RequestTrace } from '../observe/trace-context.js';

const maxBodyBytes = 16 * 1024 * 1024;
const inferenceRoutes = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings']);
/** Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business on each leg. */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'content-length']);

export interface ProxyOptions {
  getTable: () => RoutingTable;
  strategy: Strategy;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Characters of the rendered prompt hashed for prefix affinity. */
  prefixChars: number;
  /** Header naming the caller's team for the metrics' `team` label, when there are no API keys. */
  teamHeader: string;
  /** API keys: the caller's team comes from its key, and its Authorization header stays here. */
  authenticate?: (authorization: string | undefined) => Promise<AuthVerdict>;
  /** Requests and tokens per minute per team; none when absent. */
  limiter?: RateLimiter;
  /** Where requests wait for a model that has no replica yet (scale from zero); 503 at once when absent. */
  holds?: ColdStartHolds;
  /** A span per inference request, its context passed on to the model server; none when absent. */
  tracing?: Tracing | undefined;
}

/** One inference request as the gateway serves it: its span (when traced), its trace context, its log fields. */
interface Inbound {
  span: Span | undefined;
  trace: RequestTrace;
  log: LogFields;
}

export type AuthVerdict = { ok: true; team: string } | { ok: false; status: 401 | 503; message: string };

/** The OpenAI routes: body read once, a replica picked, the upstream answer piped through as it comes. */
export class GatewayProxy {
  private readonly outstanding = new Map<string, number>();
  private readonly versions = new VersionPicker();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024, scheduling: 'lifo' });
  private readonly outstandingOf = (id: string): number => this.outstanding.get(id) ?? 0;
  private inFlight = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly options: ProxyOptions) {}

  /** Requests in flight to each replica id (what least-outstanding and the valve look at). */
  load(): ReadonlyMap<string, number> {
    return this.outstanding;
  }

  /** Resolves once no request is in flight. */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.idle = resolve));
  }

  destroy(): void {
    this.agent.destroy();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (req.method === 'POST' && inferenceRoutes.has(path)) {
      this.inFlight++;
      const span = this.options.tracing?.startRequestSpan(`POST ${path}`, req.headers, { 'http.request.method': 'POST', 'http.route': path });
      const trace = requestTrace(req.headers, span);
      const inbound: Inbound = { span, trace, log: { request_id: newRequestId(), ...traceFields(trace) } };
      res.setHeader('traceparent', formatTraceparent(trace));
      res.once('close', () => {
        if (span) endRequestSpan(span, res.statusCode);
        if (--this.inFlight === 0) this.idle?.();
      });
      // The body's events come in the socket's context: the request's log context is entered after it.
      this.readBody(req, res, (body) => runWithLogFields(inbound.log, () => this.withTeam(req, res, (team) => this.route(req, res, body, path, team, inbound))));
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      this.withTeam(req, res, () => {
        const table = this.options.getTable();
        sendJson(res, 200, { object: 'list', data: table.models().map((id) => ({ id, object: 'model', created: 0, owned_by: 'gpufleet' })) });
      });
      return;
    }
    if (req.method === 'GET' && path === '/health') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      this.options.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': prometheusContentType });
          res.end(text);
        },
        () => sendJson(res, 500, openAiError('metrics failed', 'internal_error', null, 'internal_error')),
      );
      return;
    }
    const known = inferenceRoutes.has(path) || path === '/v1/models';
    sendJson(res, known ? 405 : 404, openAiError(`${req.method} ${path} is not a route of this gateway`, 'invalid_request_error', null, known ? 'method_not_allowed' : 'not_found'));
  }

  private readBody(req: IncomingMessage, res: ServerResponse, then: (body: Buffer) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        if (!tooLarge) sendJson(res, 413, openAiError('request body too large', 'invalid_request_error', null, 'body_too_large'));
        tooLarge = true;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!tooLarge) then(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('error', () => res.destroy());
  }

  /** The caller's team: from its API key when keys are checked (refused: 401), else from the team header. */
  private withTeam(req: IncomingMessage, res: ServerResponse, then: (team: string) => void): void {
    const { authenticate } = this.options;
    if (!authenticate) {
      const header = req.headers[this.options.teamHeader];
      then(typeof header === 'string' && header !== '' ? header : 'none');
      return;
    }
    authenticate(req.headers.authorization).then(
      (verdict) => {
        if (verdict.ok) then(verdict.team);
        else sendJson(res, verdict.status, openAiError(verdict.message, verdict.status === 401 ? 'invalid_request_error' : 'service_unavailable', null, verdict.status === 401 ? 'invalid_api_key' : 'auth_unavailable'));
      },
      () => sendJson(res, 503, openAiError('cannot check the API key now', 'service_unavailable', null, 'auth_unavailable')),
    );
  }

  private route(req: IncomingMessage, res: ServerResponse, body: Buffer, path: string, team: string, inbound: Inbound): void {
    const { span } = inbound;
    span?.setAttribute('gpufleet.team', team);
    const started = performance.now();
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      sendJson(res, 400, openAiError('the body is not valid JSON', 'invalid_request_error', null, 'invalid_json'));
      return;
    }
    const model = (parsed as { model?: unknown } | null)?.model;
    if (typeof model !== 'string' || model === '') {
      sendJson(res, 400, openAiError('`model` is required', 'invalid_request_error', 'model', 'missing_model'));
      return;
    }
    span?.setAttribute('gpufleet.model', model);
    const route = this.options.getTable().lookup(model);
    if (route === undefined) {
      this.options.metrics.requests.inc({ model: 'unknown', version: 'none', team, status: '404' });
      sendJson(res, 404, openAiError(`The model \`${model}\` does not exist.`, 'invalid_request_error', 'model', 'model_not_found'));
      return;
    }
    const admission = this.options.limiter?.admit(team);
    if (admission && !admission.ok) {
      const version = route.versions[0]?.version ?? 'none';
      this.options.metrics.requests.inc({ model, version, team, status: '429' });
      this.options.metrics.errors.inc({ model, version, team, reason: 'rate_limited' });
      const message = `team ${team} is over its ${admission.limit} per minute; retry in ${admission.retryAfterSeconds} s`;
      sendJson(res, 429, openAiError(message, admission.limit, null, 'rate_limit_exceeded'), { 'retry-after': String(admission.retryAfterSeconds) });
      return;
    }
    const stream = (parsed as { stream?: unknown }).stream === true;
    span?.setAttribute('gpufleet.stream', stream);
    const prefixKey = this.options.strategy.name === 'prefix-affinity' ? promptPrefix(parsed, this.options.prefixChars) : undefined;
    const tried = new Set<string>();
    const refuse = (reason: string, message: string, code = reason, headers: OutgoingHttpHeaders = {}): void => {
      const version = route.versions[0]?.version ?? 'none';
      this.options.metrics.requests.inc({ model, version, team, status: '503' });
      this.options.metrics.errors.inc({ model, version, team, reason });
      sendJson(res, 503, openAiError(message, 'service_unavailable', 'model', code), headers);
    };
    const attempt = (): void => {
      if (res.destroyed) return;
      // The table may have changed since the request came (a replica that started, or one that left).
      const current = this.options.getTable().lookup(model) ?? route;
      const replica = this.pick(current, tried, prefixKey);
      if (replica === undefined) {
        const holds = this.options.holds;
        if (tried.size === 0 && current.holdWhenEmpty && holds) {
          const cancel = holds.hold(model, attempt, () => refuse('cold_start_timeout', `no replica of model \`${model}\` became ready in time; retry later`));
          if (cancel === 'full') refuse('cold_start_queue_full', `too many requests wait for model \`${model}\` to start; retry later`, 'cold_start_queue_full', { 'retry-after': '5' });
          else res.once('close', cancel);
          return;
        }
        if (tried.size === 0) refuse('no_replica', `no ready replica for model \`${model}\``);
        else refuse('all_replicas_failed', `no ready replica for model \`${model}\``, 'no_replica');
        return;
      }
      tried.add(replica.id);
      this.forward(req, res, body, path, replica, { model, version: replica.version, team }, stream, started, inbound, (err) => {
        this.options.metrics.retries.inc({ model, version: replica.version, team });
        // Named here, not only by the log context: a pooled socket's events may come in another request's.
        this.options.logger.warn({ replica: replica.id, model, team, err: err.message, ...inbound.log }, 'upstream connection failed before any byte; retrying on another replica');
        attempt();
      });
    };
    attempt();
  }

  private pick(route: ResolvedModel, tried: ReadonlySet<string>, prefixKey: string | undefined): RoutedReplica | undefined {
    const usable = (r: RoutedReplica) => !tried.has(r.id);
    const version = this.versions.pick(route.model, route.versions, (v) => v.replicas.some(usable));
    let candidates = version?.replicas ?? [];
    if (tried.size > 0) candidates = candidates.filter(usable);
    if (candidates.length === 0) candidates = route.all.filter(usable);
    return this.options.strategy.pick(candidates, { outstanding: this.outstandingOf, group: version?.version ?? '', prefixKey });
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    path: string,
    replica: RoutedReplica,
    labels: RequestLabels,
    stream: boolean,
    started: number,
    inbound: Inbound,
    retry: (err: Error) => void,
  ): void {
    const { metrics } = this.options;
    const headers = forwardHeaders(req.headers);
    const { span } = inbound;
    if (span) {
      // The last replica tried is the one that answered.
      span.setAttributes({ 'gpufleet.version': replica.version, 'gpufleet.replica': replica.id });
      // The model server's own spans join the trace under the gateway's span.
      this.options.tracing?.inject(span, headers);
    } else if (parseTraceparent(req.headers.traceparent) === null) {
      // Untraced, a caller's valid traceparent goes through unchanged; without one the model
      // server gets the trace this request's log lines name.
      headers.traceparent = formatTraceparent(inbound.trace);
      delete headers.tracestate;
    }
    // The caller's gpufleet key is for this gateway, not for the model server.
    if (this.options.authenticate) delete headers.authorization;
    headers['content-length'] = body.length;
    this.outstanding.set(replica.id, this.outstandingOf(replica.id) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.outstanding.set(replica.id, this.outstandingOf(replica.id) - 1);
    };
    let responded = false;
    const upstream = httpRequest(
      { agent: this.agent, hostname: replica.hostname, port: replica.port, method: 'POST', path: req.url ?? path, headers },
      (up: IncomingMessage) => {
        responded = true;
        const status = up.statusCode ?? 502;
        const contentType = up.headers['content-type'] ?? '';
        const watcher = new StreamWatcher(metrics, labels, started, stream && contentType.startsWith('text/event-stream'));
        res.writeHead(status, responseHeaders(up.headers));
        up.on('data', (chunk: Buffer) => {
          watcher.onChunk(chunk, performance.now());
          if (!res.write(chunk)) {
            up.pause();
            res.once('drain', () => up.resume());
          }
        });
        up.on('end', () => {
          release();
          res.end();
          const used = watcher.finish();
          this.options.limiter?.charge(labels.team, used);
          metrics.requests.inc({ ...labels, status: String(status) });
          if (status >= 500) metrics.errors.inc({ ...labels, reason: `upstream_${status}` });
          if (this.options.logger.isLevelEnabled('debug')) this.options.logger.debug({ ...labels, replica: replica.id, status, stream, ...inbound.log }, 'request');
        });
        up.on('error', () => {
          release();
          metrics.requests.inc({ ...labels, status: String(status) });
          metrics.errors.inc({ ...labels, reason: 'stream_broken' });
          res.destroy();
        });
      },
    );
    upstream.on('error', (err) => {
      release();
      if (responded) return; // the response's own error handler deals with it
      if (!res.headersSent && !res.destroyed) retry(err);
    });
    // The client went away: stop the upstream request so the replica frees its sequence.
    res.once('close', () => {
      if (!res.writableFinished) {
        upstream.destroy();
        release();
      }
    });
    upstream.end(body);
  }
}

function forwardHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) if (!hopByHop.has(name)) out[name] = incoming[name];
  return out;
}

function responseHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) if (!hopByHop.has(name) || name === 'content-length') out[name] = incoming[name];
  return out;
}

export function openAiError(message: string, type: string, param: string | null, code: string): { error: { message: string; type: string; param: string | null; code: string } } {
  return { error: { message, type, param, code } };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
