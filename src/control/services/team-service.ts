import { ApiError } from '../../core/errors.js';
import { newId, idPrefixes } from '../../core/ids.js';
import type { ApplyResult, Team } from '../../core/api-types.js';
import { deleteTeam, getTeamByName, insertTeam, listTeams } from '../../store/teams-repo.js';
import { countQueuesOfTeam } from '../../store/queues-repo.js';
import { countActiveWorkloads } from '../../store/workloads-repo.js';
import { insertEvents } from '../../store/events-repo.js';
import { inTransaction, isUniqueViolation } from '../../store/transaction.js';
import type { Db } from '../../store/db.js';
import type { ControlContext } from '../context.js';
import { canAccessTeam, type UserPrincipal } from '../http/principal.js';
import { teamView } from '../views.js';

export async function requireTeam(db: Db, name: string, user: UserPrincipal) {
  const team = await getTeamByName(db, name);
  // A member asking about another team learns nothing, not even that it exists.
  if (!team || !canAccessTeam(user, team.id)) throw new ApiError('not_found', `team ${name} not found`);
  return team;
}

export class TeamService {
  constructor(private readonly ctx: ControlContext) {}

  async list(user: UserPrincipal): Promise<Team[]> {
    const rows = await listTeams(this.ctx.db, user.role === 'admin' ? undefined : (user.teamId ?? '-'));
    return rows.map(teamView);
  }

  async get(user: UserPrincipal, name: string): Promise<Team> {
    return teamView(await requireTeam(this.ctx.db, name, user));
  }

  /** Teams carry no settings yet, so a PUT either creates the team or leaves it unchanged. */
  async put(user: UserPrincipal, name: string, version: number | undefined): Promise<{ result: ApplyResult; team: Team }> {
    try {
      return await inTransaction(this.ctx.db, async (tx) => {
        const existing = await getTeamByName(tx, name);
        if (existing) {
          if (version !== undefined && version !== existing.version)
            throw new ApiError('version_conflict', `team ${name} is at version ${existing.version}, not ${version}`);
          return { result: 'unchanged' as const, team: teamView(existing) };
        }
        const row = await insertTeam(tx, { id: newId(idPrefixes.team), name });
        await insertEvents(tx, [{ actor: user.name, kind: 'team.created', targetKind: 'team', targetId: row.id, message: `team ${name} created` }]);
        return { result: 'created' as const, team: teamView(row) };
      });
    } catch (err) {
      // Two creators raced; the loser sees the winner's team.
      if (isUniqueViolation(err)) return this.put(user, name, version);
      throw err;
    }
  }

  async delete(user: UserPrincipal, name: string): Promise<void> {
    await inTransaction(this.ctx.db, async (tx) => {
      const team = await requireTeam(tx, name, user);
      if ((await countQueuesOfTeam(tx, team.id)) > 0) throw new ApiError('conflict', `team ${name} still has queues; delete them first`);
      if ((await countActiveWorkloads(tx, 'team_id', team.id)) > 0) throw new ApiError('conflict', `team ${name} still has active workloads`);
      try {
        await deleteTeam(tx, team.id);
      } catch {
        throw new ApiError('conflict', `team ${name} still owns workloads or tokens in its history; it cannot be deleted`);
      }
      await insertEvents(tx, [{ actor: user.name, kind: 'team.deleted', targetKind: 'team', targetId: team.id, message: `team ${name} deleted` }]);
    });
  }
}
