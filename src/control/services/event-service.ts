import { alertSchema, resolveTimeRef, type AlertView, type EventsQuery, type EventView } from '../../core/telemetry-api.js';
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
    // A cluster's node is named CLUSTER/MACHINE: only the first slash ends the kind.
    const slash = query.target?.indexOf('/') ?? -1;
    const [targetKind, targetName] = query.target === undefined ? [] : slash < 0 ? [query.target] : [query.target.slice(0, slash), query.target.slice(slash + 1)];
    const rows = await listEvents(db, {
      since: query.since === undefined ? undefined : new Date(resolveTimeRef(query.since, now)),
      until: query.until === undefined ? undefined : new Date(resolveTimeRef(query.until, now)),
      kinds: query.kind?.split(','),
      actor: query.actor,
      targetKind,
      targetIds: targetKind !== undefined && targetName !== undefined ? await targetIdsNamed(db, targetKind, targetName) : undefined,
      afterId: query.after,
      // A member sees their team's objects and the fleet's nodes and clusters.
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

  /** SLO alerts (events `alert.firing` / `alert.resolved`) since `since`: those still firing, and the history, oldest first. */
  async alerts(user: UserPrincipal, since: string): Promise<{ firing: AlertView[]; history: AlertView[] }> {
    const events = await this.list(user, { since, kind: 'alert.', limit: 1000 });
    const history = events.flatMap((e) => {
      const parsed = alertSchema.omit({ id: true }).safeParse(e.data);
      return parsed.success ? [{ id: e.id, ...parsed.data }] : [];
    });
    const latest = new Map<string, AlertView>();
    for (const a of history) latest.set(`${a.service}\u0000${a.objective}\u0000${a.severity}`, a);
    return { firing: [...latest.values()].filter((a) => a.state === 'firing'), history };
  }
}
