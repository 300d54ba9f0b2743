import { createHash } from 'node:crypto';
import { GpufleetClient } from '../client/api-client.js';
import { ClientError } from '../client/http.js';
import type { AuthVerdict } from './proxy.js';

export interface ApiKeyOptions {
  serverUrl: string;
  /** How long an accepted key is trusted without asking again (default 10 s): a revoked key stops within this. */
  acceptedForMs?: number;
  /** How long a refused key is refused without asking again (default 2 s). */
  refusedForMs?: number;
}

/** Label for callers whose token has no team (admins). */
export const noTeam = 'admin';
const maxCached = 10_000;

/**
 * API keys are the server's API tokens: the gateway asks the server who a key belongs to
 * (`GET /v1/whoami` with it) and routes for that key's team. Verdicts are cached briefly, by a
 * hash of the key, so the server sees about one check per key every few seconds, not one per
 * request; concurrent first requests with one key share one check. A server that cannot be
 * reached answers 503 for keys not in the cache (cached ones keep working).
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, { verdict: AuthVerdict; until: number }>();
  private readonly inFlight = new Map<string, Promise<AuthVerdict>>();

  constructor(private readonly options: ApiKeyOptions) {}

  verify = async (authorization: string | undefined): Promise<AuthVerdict> => {
    const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (key === undefined) return { ok: false, status: 401, message: 'missing API key (Authorization: Bearer <key>)' };
    const hash = createHash('sha256').update(key).digest('base64url');
    const cached = this.cache.get(hash);
    if (cached && cached.until > Date.now()) return cached.verdict;
    let pending = this.inFlight.get(hash);
    if (!pending) {
      pending = this.ask(key, hash).finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, pending);
    }
    return pending;
  };

  private async ask(key: string, hash: string): Promise<AuthVerdict> {
    let verdict: AuthVerdict;
    try {
      const who = await new GpufleetClient({ baseUrl: this.options.serverUrl, token: key }).whoami();
      verdict = { ok: true, team: who.team ?? noTeam };
    } catch (err) {
      if (!(err instanceof ClientError && (err.status === 401 || err.status === 403))) {
        return { ok: false, status: 503, message: `cannot check the API key now: ${(err as Error).message}` };
      }
      verdict = { ok: false, status: 401, message: 'invalid API key (unknown, revoked or expired)' };
    }
    if (this.cache.size >= maxCached) this.cache.clear();
    this.cache.set(hash, { verdict, until: Date.now() + (verdict.ok ? (this.options.acceptedForMs ?? 10_000) : (this.options.refusedForMs ?? 2000)) });
    return verdict;
  }
}
