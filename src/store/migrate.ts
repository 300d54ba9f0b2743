import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import * as m0001 from './migrations/0001-init.js';
import * as m0002 from './migrations/0002-scheduler.js';
import * as m0003 from './migrations/0003-services.js';
import * as m0004 from './migrations/0004-telemetry.js';
import * as m0005 from './migrations/0005-autoscaling-rollouts.js';
import * as m0006 from './migrations/0006-clusters.js';
import * as m0007 from './migrations/0007-cluster-deletion.js';
import * as m0008 from './migrations/0008-slo-history.js';
import * as m0009 from './migrations/0009-claims.js';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: m0001.name, sql: m0001.sql },
  { version: 2, name: m0002.name, sql: m0002.sql },
  { version: 3, name: m0003.name, sql: m0003.sql },
  { version: 4, name: m0004.name, sql: m0004.sql },
  { version: 5, name: m0005.name, sql: m0005.sql },
  { version: 6, name: m0006.name, sql: m0006.sql },
  { version: 7, name: m0007.name, sql: m0007.sql },
  { version: 8, name: m0008.name, sql: m0008.sql },
  { version: 9, name: m0009.name, sql: m0009.sql },
];

// Any fixed number works; it only has to be the same in every server that shares the database.
const MIGRATION_LOCK_KEY = 7_340_001;

/**
 * Applies the migrations not yet applied, each in its own transaction, in order. Safe to run from
 * several servers at once: the advisory lock makes the others wait, then find nothing to do.
 */
export async function migrate(db: Kysely<Database>): Promise<number[]> {
  await sql`create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    applied_at timestamptz not null default now()
  )`.execute(db);
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(tx);
      const existing = await tx
        .selectFrom('schema_migrations')
        .select('version')
        .where('version', '=', migration.version)
        .executeTakeFirst();
      if (existing) return false;
      // One statement at a time: the embedded driver uses the extended protocol, which takes one per call.
      for (const statement of splitStatements(migration.sql)) await sql.raw(statement).execute(tx);
      await tx.insertInto('schema_migrations').values({ version: migration.version, name: migration.name }).execute();
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}

/** Splits a migration on statement-ending semicolons; migrations hold no function bodies, so this is enough. */
export function splitStatements(text: string): string[] {
  return text
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}
