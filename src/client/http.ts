import { isErrorBody, type ErrorBody } from '../core/errors.js';

/** An error from the server (with its catalog code) or from reaching it (`code: 'unreachable'`). */
export class ClientError extends Error {
  constructor(
    message: string,
    readonly code: ErrorBody['code'] | 'unreachable' | 'bad_response',
    readonly status: number | null,
    readonly details?: ErrorBody['details'],
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

export interface HttpOptions {
  baseUrl: string;
  token?: string | undefined;
  /** Per-request timeout; long-polls add their wait to it. */
  timeoutMs?: number;
  userAgent?: string;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined> | undefined;
  body?: unknown;
  /** Extra time this request may take on the server (long-poll). */
  waitMs?: number;
  signal?: AbortSignal | undefined;
}

/** A thin JSON-over-HTTP caller shared by the user and the agent clients. */
export class HttpClient {
  readonly baseUrl: string;
  private token: string | undefined;
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(options: HttpOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.userAgent = options.userAgent ?? 'gpufleet-client';
  }

  setToken(token: string | undefined): void {
    this.token = token;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(this.timeoutMs + (options.waitMs ?? 0));
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? null : JSON.stringify(options.body),
        signal,
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new ClientError(`cannot reach the gpufleet server at ${this.baseUrl} (${cause})`, 'unreachable', null);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ClientError(`the server at ${this.baseUrl} answered ${response.status} with a body that is not JSON`, 'bad_response', response.status);
      }
    }
    if (!response.ok) {
      if (isErrorBody(parsed)) throw new ClientError(parsed.message, parsed.code, response.status, parsed.details);
      throw new ClientError(`the server answered ${response.status}`, 'bad_response', response.status);
    }
    return parsed as T;
  }
}
