import type { Db } from './db.js';
import type { ApiTokenRow, ApiTokensTable } from './schema.js';
import type { Insertable } from 'kysely';

export function insertToken(db: Db, token: Insertable<ApiTokensTable>): Promise<ApiTokenRow> {
  return db.insertInto('api_tokens').values(token).returningAll().executeTakeFirstOrThrow();
}

export function findTokenByHash(db: Db, hash: string): Promise<ApiTokenRow | undefined> {
  return db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
}

export function countTokens(db: Db, kind: ApiTokenRow['kind']): Promise<number> {
  return db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('kind', '=', kind)
    .executeTakeFirstOrThrow()
    .then((r) => Number(r.n));
}
