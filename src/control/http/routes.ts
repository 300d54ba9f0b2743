import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Principal } from './principal.js';

/**
 * A route declared once: its schemas validate the request and also make up /openapi.json, so the
 * document cannot drift from what the server accepts.
 */
export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  request: FastifyRequest;
  reply: FastifyReply;
  /** Aborted when the client goes away; long-polls stop waiting. */
  signal: AbortSignal;
}

export interface RouteDef<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  summary: string;
  tag: string;
  /** Who may call: nobody needs a token for `public`; `agent-join` carries its join token in the body. */
  auth: 'public' | 'user' | 'node' | 'agent-join';
  /** The body carries raw process output: NUL and broken Unicode are stored replaced, not refused. */
  rawTextBody?: boolean;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  response?: z.ZodType;
  status?: number;
  handler(ctx: RouteContext<P, Q, B>): Promise<unknown>;
}

export function route<P = undefined, Q = undefined, B = undefined>(def: RouteDef<P, Q, B>): RouteDef {
  return def as unknown as RouteDef;
}
