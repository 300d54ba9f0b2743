import type { z } from 'zod';
import {
  desiredStateSchema,
  registerResponseSchema,
  type DesiredState,
  type HeartbeatRequest,
  type LogChunk,
  type RegisterRequest,
  type RegisterResponse,
} from '../core/agent-protocol.js';
import { ClientError, HttpClient } from './http.js';

export interface AgentClientOptions {
  serverUrl: string;
  /** The node credential from register; register itself does not send it. */
  credential?: string | undefined;
  userAgent?: string;
  timeoutMs?: number;
}

/**
 * The agent's side of the agent protocol (docs/api.md, "Agents"). Answers are validated: the agent
 * starts and kills processes on what the server says, so a malformed answer is an error, not a guess.
 */
export class AgentClient {
  private readonly http: HttpClient;
  private readonly anonymous: HttpClient;

  constructor(options: AgentClientOptions) {
    const base = { baseUrl: options.serverUrl, userAgent: options.userAgent ?? 'gpufleet-agent', timeoutMs: options.timeoutMs ?? 15_000 };
    this.http = new HttpClient({ ...base, token: options.credential });
    this.anonymous = new HttpClient(base);
  }

  setCredential(credential: string): void {
    this.http.setToken(credential);
  }

  async register(body: RegisterRequest, signal?: AbortSignal): Promise<RegisterResponse> {
    return validated(registerResponseSchema, await this.anonymous.request('POST', '/v1/agent/register', { body, signal }));
  }

  async heartbeat(body: HeartbeatRequest, signal?: AbortSignal): Promise<DesiredState> {
    return validated(desiredStateSchema, await this.http.request('POST', '/v1/agent/heartbeat', { body, signal }));
  }

  /** Long-poll: answers at once when the node's revision differs from `revision`, else when it changes or `waitMs` passes. */
  async watchAssignments(revision: number, waitMs: number, signal?: AbortSignal): Promise<DesiredState> {
    const answer = await this.http.request('GET', '/v1/agent/assignments', { query: { revision, waitMs }, waitMs, signal });
    return validated(desiredStateSchema, answer);
  }

  /** Resolves on the server's 204; chunks it already holds (same replicaId, stream, offset) are ignored there. */
  async uploadLogs(chunks: LogChunk[], signal?: AbortSignal): Promise<void> {
    await this.http.request('POST', '/v1/agent/logs', { body: { chunks }, signal });
  }
}

function validated<S extends z.ZodType>(schema: S, answer: unknown): z.infer<S> {
  const parsed = schema.safeParse(answer);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new ClientError(`the server's answer does not follow the agent protocol${where}: ${issue?.message ?? 'invalid'}`, 'bad_response', null);
  }
  return parsed.data;
}
