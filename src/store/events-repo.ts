import type { Db } from './db.js';

export interface NewEvent {
  actor: string;
  kind: string;
  targetKind: string;
  targetId: string;
  message: string;
  data?: Record<string, unknown>;
}

export async function insertEvents(db: Db, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('events')
    .values(
      events.map((e) => ({
        actor: e.actor,
        kind: e.kind,
        target_kind: e.targetKind,
        target_id: e.targetId,
        message: e.message,
        data: JSON.stringify(e.data ?? {}),
      })),
    )
    .execute();
}

export function listEventsFor(db: Db, targetKind: string, targetId: string) {
  return db
    .selectFrom('events')
    .selectAll()
    .where('target_kind', '=', targetKind)
    .where('target_id', '=', targetId)
    .orderBy('id')
    .execute();
}
