import type { Db } from './db.js';
import type { TeamRow } from './schema.js';

export function getTeamByName(db: Db, name: string): Promise<TeamRow | undefined> {
  return db.selectFrom('teams').selectAll().where('name', '=', name).executeTakeFirst();
}

export function getTeamById(db: Db, id: string): Promise<TeamRow | undefined> {
  return db.selectFrom('teams').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listTeams(db: Db, onlyId?: string): Promise<TeamRow[]> {
  let q = db.selectFrom('teams').selectAll().orderBy('name');
  if (onlyId !== undefined) q = q.where('id', '=', onlyId);
  return q.execute();
}

export function insertTeam(db: Db, team: { id: string; name: string }): Promise<TeamRow> {
  return db.insertInto('teams').values(team).returningAll().executeTakeFirstOrThrow();
}

export async function deleteTeam(db: Db, id: string): Promise<boolean> {
  const rows = await db.deleteFrom('teams').where('id', '=', id).returning('id').execute();
  return rows.length > 0;
}
