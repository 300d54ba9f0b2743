import { ApiError } from '../../core/errors.js';
import { newId, idPrefixes } from '../../core/ids.js';
import type { ApplyResult, Queue, QueueSpec, Quota } from '../../core/api-types.js';
import { countChildQueues, deleteQueue, getQueueByName, insertQueue, listQueues, queueUsage, updateQueue } from '../../store/queues-repo.js';
import { getTeamByName, listTeams } from '../../store/teams-repo.js';
import { countActiveWorkloads } from '../../store/workloads-repo.js';
import { insertEvents } from '../../store/events-repo.js';
import { inTransaction, isUniqueViolation } from '../../store/transaction.js';
import type { QueueRow } from '../../store/schema.js';
import type { Db } from '../../store/db.js';
import type { ControlContext } from '../context.js';
import { canAccessTeam, type UserPrincipal } from '../http/principal.js';
import { queueView } from '../views.js';

export class QueueService {
  constructor(private readonly ctx: ControlContext) {}

  private async views(rows: QueueRow[]): Promise<Queue[]> {
    const [teams, usage, all] = await Promise.all([listTeams(this.ctx.db), queueUsage(this.ctx.db), listQueues(this.ctx.db)]);
    const teamNames = new Map(teams.map((t) => [t.id, t.name]));
    const queueNames = new Map(all.map((q) => [q.id, q.name]));
    return rows.map((r) =>
      queueView(r, teamNames.get(r.team_id) ?? r.team_id, r.parent_id === null ? null : (queueNames.get(r.parent_id) ?? r.parent_id), usage.get(r.id) ?? {}),
    );
  }

  async list(user: UserPrincipal): Promise<Queue[]> {
    return this.views(await listQueues(this.ctx.db, user.role === 'admin' ? undefined : (user.teamId ?? '-')));
  }

  async get(user: UserPrincipal, name: string): Promise<Queue> {
    const row = await getQueueByName(this.ctx.db, name);
    if (!row || !canAccessTeam(user, row.team_id)) throw new ApiError('not_found', `queue ${name} not found`);
    const [view] = await this.views([row]);
    return view!;
  }

  async put(user: UserPrincipal, name: string, spec: QueueSpec, version: number | undefined): Promise<{ result: ApplyResult; queue: Queue }> {
    let outcome: { result: ApplyResult; row: QueueRow };
    try {
      outcome = await inTransaction(this.ctx.db, async (tx) => {
        const team = await getTeamByName(tx, spec.team);
        if (!team) throw new ApiError('unprocessable', `team ${spec.team} does not exist`, { issues: [{ path: 'team', message: 'no such team' }] });
        const existing = await getQueueByName(tx, name);
        const parentId = await resolveParent(tx, name, spec.parent ?? null);
        if (!existing) {
          const row = await insertQueue(tx, { id: newId(idPrefixes.queue), name, teamId: team.id, parentId, priority: spec.priority, quotas: spec.quotas });
          await insertEvents(tx, [{ actor: user.name, kind: 'queue.created', targetKind: 'queue', targetId: row.id, message: `queue ${name} created`, data: { spec } }]);
          return { result: 'created' as const, row };
        }
        if (version !== undefined && version !== existing.version)
          throw new ApiError('version_conflict', `queue ${name} is at version ${existing.version}, not ${version}`);
        const same =
          existing.team_id === team.id && existing.parent_id === parentId && existing.priority === spec.priority && sameQuotas(existing.quotas, spec.quotas);
        if (same) return { result: 'unchanged' as const, row: existing };
        if (existing.team_id !== team.id && (await countActiveWorkloads(tx, 'queue_id', existing.id)) > 0)
          throw new ApiError('conflict', `queue ${name} has active workloads; it cannot move to team ${spec.team} now`);
        const row = await updateQueue(tx, existing.id, existing.version, { teamId: team.id, parentId, priority: spec.priority, quotas: spec.quotas });
        if (!row) throw new ApiError('version_conflict', `queue ${name} changed while it was being updated; try again`);
        await insertEvents(tx, [{ actor: user.name, kind: 'queue.updated', targetKind: 'queue', targetId: row.id, message: `queue ${name} updated`, data: { spec } }]);
        return { result: 'updated' as const, row };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError('version_conflict', `queue ${name} was created concurrently; try again`);
      throw err;
    }
    if (outcome.result !== 'unchanged') this.ctx.wakeups.wake(['schedule']);
    const [view] = await this.views([outcome.row]);
    return { result: outcome.result, queue: view! };
  }

  async delete(user: UserPrincipal, name: string): Promise<void> {
    await inTransaction(this.ctx.db, async (tx) => {
      const row = await getQueueByName(tx, name);
      if (!row || !canAccessTeam(user, row.team_id)) throw new ApiError('not_found', `queue ${name} not found`);
      if ((await countActiveWorkloads(tx, 'queue_id', row.id)) > 0) throw new ApiError('conflict', `queue ${name} still has active workloads`);
      if ((await countChildQueues(tx, row.id)) > 0) throw new ApiError('conflict', `queue ${name} has child queues; delete or move them first`);
      try {
        await deleteQueue(tx, row.id);
      } catch {
        throw new ApiError('conflict', `queue ${name} has finished workloads in its history; it cannot be deleted`);
      }
      await insertEvents(tx, [{ actor: user.name, kind: 'queue.deleted', targetKind: 'queue', targetId: row.id, message: `queue ${name} deleted` }]);
    });
  }
}

/**
 * The parent's id: it must exist, and must not be the queue itself nor one of its descendants (a
 * cycle would make "this queue with its children" mean nothing).
 */
async function resolveParent(tx: Db, name: string, parentName: string | null): Promise<string | null> {
  if (parentName === null) return null;
  const issue = (message: string) => new ApiError('unprocessable', `parent ${parentName}: ${message}`, { issues: [{ path: 'parent', message }] });
  if (parentName === name) throw issue('a queue cannot be its own parent');
  const queues = await listQueues(tx);
  const byId = new Map(queues.map((q) => [q.id, q]));
  const parent = queues.find((q) => q.name === parentName);
  if (!parent) throw issue('no such queue');
  const seen = new Set<string>();
  for (let q: QueueRow | undefined = parent; q && !seen.has(q.id); q = q.parent_id === null ? undefined : byId.get(q.parent_id)) {
    if (q.name === name) throw issue(`would make a cycle: ${name} is an ancestor of ${parentName}`);
    seen.add(q.id);
  }
  return parent.id;
}

/** Field by field: jsonb does not keep key order, so the stored quotas never stringify as they were sent. */
function sameQuotas(a: Quota[], b: Quota[]): boolean {
  const key = (q: Quota) => [q.resource, q.gpuModel, q.guaranteed, q.limit, q.overQuotaWeight, q.lendingLimit].join('|');
  return a.length === b.length && a.every((q, i) => key(q) === key(b[i]!));
}
