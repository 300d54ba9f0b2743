import { ApiError } from '../../core/errors.js';
import type { Role } from '../../core/api-types.js';

export interface UserPrincipal {
  kind: 'user';
  tokenId: string;
  name: string;
  role: Role;
  teamId: string | null;
  teamName: string | null;
}

export interface NodePrincipal {
  kind: 'node';
  nodeId: string;
}

export type Principal = UserPrincipal | NodePrincipal | { kind: 'anonymous' };

export function requireUser(p: Principal): UserPrincipal {
  if (p.kind !== 'user') throw new ApiError('unauthenticated', 'an API token is required (Authorization: Bearer <token>)');
  return p;
}

export function requireAdmin(p: Principal): UserPrincipal {
  const user = requireUser(p);
  if (user.role !== 'admin') throw new ApiError('forbidden', 'only an admin may do this');
  return user;
}

export function requireNode(p: Principal): NodePrincipal {
  if (p.kind !== 'node') throw new ApiError('unauthenticated', 'a node credential is required');
  return p;
}

/** Whether `user` may see and act on objects of team `teamId`: admins everywhere, members in their team. */
export function canAccessTeam(user: UserPrincipal, teamId: string): boolean {
  return user.role === 'admin' || user.teamId === teamId;
}
