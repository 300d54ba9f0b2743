import { resolveTimeRef, type EventsQuery, type EventView } from '../../core/telemetry-api.js';
import { listEvents, targetIdsNamed, targetNames } from '../../store/events-repo.js';
import type { ControlContext } from '../context.js';
import type { UserPrincipal } from '../http/principal.js';

/**
 * The fleet's change log: every change (apply, submit, admission, preemption, scale, node join and
 * loss, …) is an event with an actor, a target and a time, written in the transaction that made it.
 */
export class EventService {
  constructor(private readonly ctx: ControlContext) {}

  async list(user: UserPrincipal, query: EventsQuery): Promise<EventView[]> {
    const db = this.ctx.db;
    const now = this.ctx.now().getTime();
    const [targetKind, targetName] = query.target?.split('/') ?? [];
    const rows = await listEvents(db, {
      since: query.since === undefined ? undefined : new Date(resolveTimeRef(query.since, now)),
      until: query.until === undefined ? undefined : new Date(resolveTimeRef(query.until, now)),
      kinds: query.kind?.split(','),
      actor: query.actor,
      targetKind,
      targetIds: targetKind !== undefined && targetName !== undefined ? await targetIdsNamed(db, targetKind, targetName) : undefined,
      afterId: query.after,
      // A member sees their team's objects and the fleet's nodes.
      teamId: user.role === 'admin' ? undefined : (user.teamId ?? '-'),
      limit: query.limit,
    });
    const names = await targetNames(db, rows);
    return rows.map((e) => ({
      id: Number(e.id),
      at: e.at.toISOString(),
      actor: e.actor,
      kind: e.kind,
      targetKind: e.target_kind,
      targetId: e.target_id,
      target: names.get(`${e.target_kind}/${e.target_id}`) ?? null,
      message: e.message,
      data: e.data,
    }));
  }
}
