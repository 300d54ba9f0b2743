import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { formatPath } from '../core/zod-issues.js';
import { prometheusContentType } from '../observe/metrics.js';
import type { SimModelConfig } from './config.js';
import { embed } from './embeddings.js';
import type { Engine, FinishReason, SequenceTimings } from './engine.js';
import type { EngineLoop } from './engine-loop.js';
import type { FaultInjector } from './faults.js';
import type { SimModelMetrics } from './metrics.js';
import {
  chatCompletionRequest,
  completionRequest,
  embeddingRequest,
  messageText,
  type ChatCompletionRequest,
  type CompletionRequest,
} from './openai-requests.js';
import { CompletionFormat, openAiError, usageOf, type CompletionKind } from './openai-responses.js';
import { outputTokenSource, tokenize, tokenizeChat } from './tokens.js';

const maxBodyBytes = 16 * 1024 * 1024;

export interface SimModelHandlerDeps {
  config: SimModelConfig;
  engine: Engine;
  loop: EngineLoop;
  metrics: SimModelMetrics;
  faults: FaultInjector;
  now: () => number;
  /** Called on the request that trips `crashAfterRequests`; it must drop every connection. */
  crash: () => void;
}

/** The OpenAI-compatible routes plus `/health` and `/metrics`, on plain node:http. */
export class SimModelHandler {
  private inFlight = 0;
  private draining = false;
  private drained: (() => void) | undefined;
  private nextId = 0;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly deps: SimModelHandlerDeps) {}

  /** Refuses new inference requests and resolves once every one in flight has finished. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0];
    const { faults, now } = this.deps;
    if (req.method === 'GET' && path === '/health') {
      if (faults.ready(now())) sendJson(res, 200, { status: 'ok' });
      else sendJson(res, 503, openAiError('the model is still loading', 'service_unavailable'));
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      void this.sendMetrics(res);
      return;
    }
    if (!faults.ready(now())) {
      sendJson(res, 503, openAiError('the model is still loading', 'service_unavailable'));
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: [{ id: this.deps.config.model, object: 'model', created: this.created, owned_by: 'gpufleet-sim', max_model_len: this.deps.config.maxModelLen }],
      });
      return;
    }
    const route = inferenceRoutes[path ?? ''];
    if (route === undefined || req.method !== 'POST') {
      const known = route !== undefined || path === '/v1/models';
      sendJson(res, known ? 405 : 404, openAiError(`${req.method} ${path} is not a route of this server`, 'invalid_request_error'));
      return;
    }
    if (this.draining) {
      sendJson(res, 503, openAiError('the server is shutting down', 'service_unavailable'));
      return;
    }
    if (faults.countRequest()) {
      this.deps.crash();
      return;
    }
    this.inFlight++;
    res.once('close', () => this.finishedOne());
    readJson(req, res, (body) => this.serve(route, body, res));
  }

  private serve(route: InferenceRoute, body: unknown, res: ServerResponse): void {
    const parsed = parseBody(route.schema, body, res);
    if (parsed === undefined) return;
    const { config, faults } = this.deps;
    if (parsed.model !== config.model) {
      sendJson(res, 404, openAiError(`The model \`${parsed.model}\` does not exist.`, 'invalid_request_error', 'model', 'model_not_found'));
      return;
    }
    const status = faults.errorStatus();
    if (status !== undefined) {
      sendJson(res, status, openAiError('injected fault', status === 429 ? 'rate_limit_error' : 'server_error', null, 'injected_fault'));
      return;
    }
    if (route.kind === 'embeddings') {
      this.sendEmbeddings(parsed as z.infer<typeof embeddingRequest>, res);
      return;
    }
    const request = parsed as ChatCompletionRequest | CompletionRequest;
    this.complete(route.kind, request, promptTokensOf(request), res);
  }

  private complete(kind: CompletionKind, request: ChatCompletionRequest | CompletionRequest, promptTokens: string[], res: ServerResponse): void {
    const { config, engine, loop } = this.deps;
    const requested = request.max_completion_tokens ?? request.max_tokens ?? undefined;
    const outputTokens = requested ?? Math.min(config.defaultMaxTokens, config.maxModelLen - promptTokens.length);
    const param = kind === 'chat' ? 'messages' : 'prompt';
    if (outputTokens < 1 || promptTokens.length + outputTokens > config.maxModelLen || !engine.fits(promptTokens.length, outputTokens)) {
      sendJson(
        res,
        400,
        openAiError(
          `This model's maximum context length is ${config.maxModelLen} tokens. However, you requested ` +
            `${promptTokens.length + Math.max(outputTokens, 0)} tokens (${promptTokens.length} in the ${param}, ${Math.max(outputTokens, 0)} in the completion).`,
          'invalid_request_error',
          param,
          'context_length_exceeded',
        ),
      );
      return;
    }
    const prefix = kind === 'chat' ? 'chatcmpl' : 'cmpl';
    const format = new CompletionFormat(kind, `${prefix}-sim-${++this.nextId}`, config.model, Math.floor(Date.now() / 1000), request.stream_options?.include_usage === true);
    const finishReason: FinishReason = requested === undefined ? 'stop' : 'length';
    const nextToken = outputTokenSource(promptTokens, config.seed);
    const stream = request.stream === true;
    const includeUsage = request.stream_options?.include_usage === true;
    let text = '';
    if (stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(format.streamStart());
    }
    const handle = engine.submit({
      promptTokens,
      outputTokens,
      finishReason,
      nextToken,
      sink: {
        tokens(texts) {
          if (stream) res.write(format.streamTokens(texts));
          else for (const t of texts) text += t;
        },
        finished(reason: FinishReason, timings: SequenceTimings) {
          if (stream) res.end(format.streamEnd(reason, includeUsage ? usageOf(timings) : undefined));
          else sendJson(res, 200, format.whole(text, reason, usageOf(timings)));
        },
      },
    });
    res.once('close', () => handle.cancel());
    loop.wake();
  }

  private sendEmbeddings(request: z.infer<typeof embeddingRequest>, res: ServerResponse): void {
    const { config } = this.deps;
    const inputs = typeof request.input === 'string' ? [request.input] : request.input;
    let promptTokens = 0;
    const data = inputs.map((input, index) => {
      promptTokens += tokenize(input).length;
      return { object: 'embedding', index, embedding: embed(input, config.embeddingDimension, config.seed) };
    });
    sendJson(res, 200, { object: 'list', data, model: config.model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } });
  }

  private async sendMetrics(res: ServerResponse): Promise<void> {
    const text = await this.deps.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': prometheusContentType });
    res.end(text);
  }

  private finishedOne(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.drained !== undefined) this.drained();
  }
}

type InferenceRoute =
  | { kind: 'chat'; schema: typeof chatCompletionRequest }
  | { kind: 'text'; schema: typeof completionRequest }
  | { kind: 'embeddings'; schema: typeof embeddingRequest };

const inferenceRoutes: Record<string, InferenceRoute> = {
  '/v1/chat/completions': { kind: 'chat', schema: chatCompletionRequest },
  '/v1/completions': { kind: 'text', schema: completionRequest },
  '/v1/embeddings': { kind: 'embeddings', schema: embeddingRequest },
};

function promptTokensOf(request: ChatCompletionRequest | CompletionRequest): string[] {
  if ('messages' in request) return tokenizeChat(request.messages.map((m) => ({ role: m.role, content: messageText(m.content) })));
  return tokenize(typeof request.prompt === 'string' ? request.prompt : request.prompt[0]!);
}

function parseBody<S extends z.ZodType<{ model: string }>>(schema: S, body: unknown, res: ServerResponse): z.infer<S> | undefined {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = formatPath(issue.path);
  sendJson(res, 400, openAiError(`${param}: ${issue.message}`, 'invalid_request_error', param));
  return undefined;
}

function readJson(req: IncomingMessage, res: ServerResponse, then: (body: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= maxBodyBytes) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > maxBodyBytes) {
      sendJson(res, 413, openAiError(`request body over ${maxBodyBytes} bytes`, 'invalid_request_error'));
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
    } catch {
      sendJson(res, 400, openAiError('request body is not valid JSON', 'invalid_request_error'));
      return;
    }
    then(body);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
