import { z } from 'zod';

/** The token was refused or cannot be valid; the message says which, and never contains the token. */
export class SlurmAuthError extends Error {
  override readonly name = 'SlurmAuthError';
}

/** slurmrestd or slurmctld cannot be reached; the request may be retried. */
export class SlurmUnavailableError extends Error {
  override readonly name = 'SlurmUnavailableError';
}

/** slurmrestd answered with an error that is neither of the above (bad request, unknown partition). */
export class SlurmApiError extends Error {
  override readonly name = 'SlurmApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly errors: SlurmErrorEntry[],
  ) {
    super(message);
  }
}

export interface SlurmRestOptions {
  /** e.g. `http://slurm-head:6820`; the API version path is added here. */
  url: string;
  userName: string;
  token: string;
  requestTimeoutMs?: number;
}

const errorEntry = z
  .object({
    error: z.string().optional(),
    description: z.string().optional(),
    error_number: z.number().optional(),
    errno: z.number().optional(),
    error_code: z.number().optional(),
    source: z.string().optional(),
  })
  .loose();
export type SlurmErrorEntry = z.infer<typeof errorEntry>;

const envelope = z.object({ errors: z.array(errorEntry).default([]) }).loose();

const nodeSchema = z
  .object({
    name: z.string(),
    state: z.string(),
    state_flags: z.array(z.string()).default([]),
    cpus: z.number().default(0),
    real_memory: z.number().default(0),
    gres: z.string().nullable().default(''),
    gres_used: z.string().nullable().default(''),
    partitions: z.array(z.string()).default([]),
    reason: z.string().nullable().default(''),
  })
  .loose();
export type SlurmNode = z.infer<typeof nodeSchema>;

const partitionSchema = z.object({ name: z.string(), nodes: z.string().default(''), state: z.string().optional() }).loose();
export type SlurmPartition = z.infer<typeof partitionSchema>;

const jobSchema = z
  .object({
    job_id: z.number(),
    name: z.string().default(''),
    comment: z.string().default(''),
    job_state: z.string(),
    state_reason: z.string().nullable().default(null),
    exit_code: z.number().nullable().default(null),
    restart_cnt: z.number().default(0),
    standard_output: z.string().default(''),
    standard_error: z.string().default(''),
    nodes: z.string().default(''),
  })
  .loose();
export type SlurmJob = z.infer<typeof jobSchema>;

/** The subset of v0.0.38's `job_properties` gpufleet sets. */
export interface SlurmJobProperties {
  name: string;
  comment: string;
  environment: Record<string, string>;
  current_working_directory: string;
  standard_output: string;
  standard_error: string;
  /** Minutes; Slurm's own unit. */
  time_limit?: number;
  gres?: string;
  partition?: string;
  /** The nodes the job must run on (v0.0.38 refuses `required_nodes` on submit). */
  nodelist?: string;
  cpus_per_task?: number;
  /** MiB. */
  memory_per_node?: number;
  /** gpufleet re-admits lost work itself, so Slurm must not requeue behind its back. */
  requeue?: boolean;
}

const apiVersion = 'v0.0.38';
// Slurm's "Invalid job id specified": the job is unknown or already purged (after MinJobAge).
const invalidJobId = 2017;
// Slurm's "Unable to contact slurm controller (connect failure)" and its siblings.
const controllerUnreachable = new Set([1001, 1007, 1008, 1011]);

/**
 * Typed calls to slurmrestd's v0.0.38 API. Requests carry the user name and JWT as headers; the
 * token lives in a private field so that logging this object, or any error it throws, cannot leak it.
 */
export class SlurmRestClient {
  readonly url: string;
  readonly userName: string;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(options: SlurmRestOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.userName = options.userName;
    this.#token = options.token;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  async ping(): Promise<{ hostname: string; ping: string }[]> {
    const body = await this.request('GET', 'ping', z.object({ pings: z.array(z.object({ hostname: z.string(), ping: z.string() }).loose()).default([]) }));
    return body.pings;
  }

  async nodes(): Promise<SlurmNode[]> {
    return (await this.request('GET', 'nodes', z.object({ nodes: z.array(nodeSchema).default([]) }))).nodes;
  }

  async partitions(): Promise<SlurmPartition[]> {
    return (await this.request('GET', 'partitions', z.object({ partitions: z.array(partitionSchema).default([]) }))).partitions;
  }

  async submitJob(script: string, job: SlurmJobProperties): Promise<number> {
    const body = await this.request('POST', 'job/submit', z.object({ job_id: z.number() }), { script, job });
    return body.job_id;
  }

  async jobs(): Promise<SlurmJob[]> {
    return (await this.request('GET', 'jobs', z.object({ jobs: z.array(jobSchema).default([]) }))).jobs;
  }

  /** Null when Slurm does not know the job (never submitted, or purged after MinJobAge). */
  async job(jobId: number): Promise<SlurmJob | null> {
    try {
      const body = await this.request('GET', `job/${jobId}`, z.object({ jobs: z.array(jobSchema).default([]) }));
      return body.jobs[0] ?? null;
    } catch (err) {
      if (err instanceof SlurmApiError && err.errors.some((e) => e.error_number === invalidJobId)) return null;
      throw err;
    }
  }

  /** `SIGKILL` cancels the job (state CANCELLED); any other signal is delivered to all of its processes. */
  async signalJob(jobId: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    await this.request('DELETE', `job/${jobId}?signal=${signal}`, z.object({}));
  }

  private async request<T extends z.ZodType>(method: string, path: string, schema: T, body?: unknown): Promise<z.infer<T>> {
    this.assertTokenUsable();
    const target = `${this.url}/slurm/${apiVersion}/${path}`;
    let res: Response;
    try {
      res = await fetch(target, {
        method,
        headers: {
          'X-SLURM-USER-NAME': this.userName,
          'X-SLURM-USER-TOKEN': this.#token,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new SlurmUnavailableError(`slurmrestd at ${this.url} is unreachable (${method} ${path}): ${this.scrub(describeCause(err))}`);
    }
    const text = await res.text().catch(() => '');
    if (res.status === 401 || res.status === 403) {
      throw new SlurmAuthError(`slurmrestd at ${this.url} refused the credentials of user "${this.userName}" (HTTP ${res.status}); check the JWT secret`);
    }
    if (res.status === 502 || res.status === 503 || res.status === 504) {
      throw new SlurmUnavailableError(`slurmrestd at ${this.url} is unavailable (HTTP ${res.status})`);
    }
    const parsedEnvelope = envelope.safeParse(safeJson(text));
    const errors = parsedEnvelope.success ? parsedEnvelope.data.errors : [];
    if (!res.ok || errors.length > 0) throw this.classify(method, path, res.status, errors);
    const parsed = schema.safeParse(parsedEnvelope.success ? parsedEnvelope.data : undefined);
    if (!parsed.success) throw new SlurmApiError(`slurmrestd answered ${method} ${path} with an unexpected body`, res.status, []);
    return parsed.data;
  }

  private classify(method: string, path: string, status: number, errors: SlurmErrorEntry[]): Error {
    const codes = errors.map((e) => e.error_number ?? e.errno ?? e.error_code);
    if (codes.some((c) => c !== undefined && controllerUnreachable.has(c))) {
      return new SlurmUnavailableError(`slurmctld behind ${this.url} is unreachable: ${this.scrub(summarise(errors))}`);
    }
    // slurmrestd 22.05 passes the JWT through to slurmctld; when slurmctld rejects it, the
    // connection is dropped and slurmrestd reports only a generic error (-1) or "zero bytes" (5005).
    if (status === 500 && errors.length > 0 && codes.every((c) => c === -1 || c === 5005)) {
      return new SlurmAuthError(
        `slurmctld behind ${this.url} rejected the request of user "${this.userName}" (${method} ${path}); the JWT is most likely invalid, expired or signed with another key`,
      );
    }
    return new SlurmApiError(`slurmrestd ${method} ${path} failed (HTTP ${status}): ${this.scrub(summarise(errors)) || 'no details'}`, status, errors);
  }

  /** Fails before sending when the token cannot work, so the error can say why precisely. */
  private assertTokenUsable(): void {
    if (this.#token.trim() === '') throw new SlurmAuthError('no Slurm JWT is configured');
    const exp = jwtExpiry(this.#token);
    if (exp !== null && exp * 1000 <= Date.now()) {
      throw new SlurmAuthError(`the Slurm JWT for user "${this.userName}" expired at ${new Date(exp * 1000).toISOString()}; mint a new one (scontrol token)`);
    }
  }

  private scrub(text: string): string {
    return text.split(this.#token).join('[token]');
  }
}

/** The `exp` claim of a JWT, read without verifying it (only slurmctld holds the key); null if absent. */
function jwtExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const exp = (claims as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : null;
  } catch {
    return null;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function summarise(errors: SlurmErrorEntry[]): string {
  return errors.map((e) => [e.error, e.description].filter(Boolean).join(': ')).join('; ');
}

function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}
