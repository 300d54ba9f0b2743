import { ApiError } from '../../core/errors.js';
import { newId, idPrefixes } from '../../core/ids.js';
import type { Role } from '../../core/api-types.js';
import { findTokenByHash, insertToken } from '../../store/tokens-repo.js';
import { findNodeByCredentialHash } from '../../store/nodes-repo.js';
import { getTeamById, getTeamByName } from '../../store/teams-repo.js';
import type { Db } from '../../store/db.js';
import type { ControlContext } from '../context.js';
import type { Principal } from '../http/principal.js';
import type { RouteDef } from '../http/routes.js';
import { hashSecret, newSecret } from '../secrets.js';

/**
 * Resolves a bearer token to who is calling. Lookups are cached briefly: every agent heartbeat and
 * API call would otherwise cost a query, and a revoked token still stops working within seconds.
 */
export class AuthService {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();
  private static readonly cacheMs = 5000;

  constructor(private readonly ctx: ControlContext) {}

  async authenticate(bearer: string | undefined, auth: RouteDef['auth']): Promise<Principal> {
    if (auth === 'public' || auth === 'agent-join') return { kind: 'anonymous' };
    if (!bearer) throw new ApiError('unauthenticated', 'missing bearer token (Authorization: Bearer <token>)');
    const hash = hashSecret(bearer);
    const now = Date.now();
    const cached = this.cache.get(hash);
    const principal = cached && cached.until > now ? cached.principal : await this.lookup(hash);
    if (!cached || cached.until <= now) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { principal, until: now + AuthService.cacheMs });
    }
    if (principal.kind === 'anonymous') throw new ApiError('unauthenticated', 'the token is not valid (unknown, revoked or expired)');
    if (auth === 'node' && principal.kind !== 'node') throw new ApiError('forbidden', 'this endpoint is for agents; use a node credential');
    if (auth === 'user' && principal.kind !== 'user') throw new ApiError('forbidden', 'agents may not call this endpoint');
    return principal;
  }

  private async lookup(hash: string): Promise<Principal> {
    const db = this.ctx.db;
    const token = await findTokenByHash(db, hash);
    if (token && token.kind === 'api' && (token.expires_at === null || token.expires_at > this.ctx.now())) {
      const team = token.team_id ? await getTeamById(db, token.team_id) : undefined;
      return {
        kind: 'user',
        tokenId: token.id,
        name: token.name,
        role: token.role ?? 'member',
        teamId: team?.id ?? null,
        teamName: team?.name ?? null,
      };
    }
    const node = await findNodeByCredentialHash(db, hash);
    if (node) return { kind: 'node', nodeId: node.id };
    return { kind: 'anonymous' };
  }

  forget(): void {
    this.cache.clear();
  }

  async createApiToken(db: Db, input: { name: string; role: Role; team?: string | undefined }): Promise<{ id: string; token: string; team: string | null }> {
    let teamId: string | null = null;
    if (input.team !== undefined) {
      const team = await getTeamByName(db, input.team);
      if (!team) throw new ApiError('unprocessable', `team ${input.team} does not exist`, { issues: [{ path: 'team', message: 'no such team' }] });
      teamId = team.id;
    }
    const token = newSecret('gfa');
    const id = newId(idPrefixes.token);
    await insertToken(db, { id, name: input.name, kind: 'api', role: input.role, team_id: teamId, token_hash: hashSecret(token) });
    return { id, token, team: input.team ?? null };
  }

  async createJoinToken(db: Db, ttlMs: number | null): Promise<{ id: string; token: string; expiresAt: Date | null }> {
    const token = newSecret('gfj');
    const id = newId(idPrefixes.token);
    const expiresAt = ttlMs === null ? null : new Date(this.ctx.now().getTime() + ttlMs);
    await insertToken(db, { id, name: 'join', kind: 'join', role: null, team_id: null, token_hash: hashSecret(token), expires_at: expiresAt });
    return { id, token, expiresAt };
  }

  async checkJoinToken(token: string): Promise<void> {
    const row = await findTokenByHash(this.ctx.db, hashSecret(token));
    if (!row || row.kind !== 'join' || (row.expires_at !== null && row.expires_at <= this.ctx.now()))
      throw new ApiError('unauthenticated', 'the join token is not valid (unknown, revoked or expired)');
  }
}
