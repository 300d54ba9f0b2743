import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGliteDialect } from 'kysely-pglite-dialect';
import type { Database } from './schema.js';
import { migrate } from './migrate.js';
import { lockDataDir } from './data-dir-lock.js';

export type Db = Kysely<Database>;

export interface StoreOptions {
  /** A PostgreSQL URL; when absent the embedded PGlite in `dataDir` is used. */
  databaseUrl?: string | undefined;
  /** PGlite data directory, or `memory://` for a throw-away database. */
  dataDir?: string | undefined;
}

export interface Store {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Human description of where the data lives (never includes a password). */
  location: string;
  /** Subscribes to a NOTIFY channel; resolves to an unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Takes a session-level advisory lock on a connection of its own, or answers null if another
   * process holds it. `lost` settles when the connection (and with it the lock) is gone.
   */
  tryLock(key: number): Promise<HeldLock | null>;
  close(): Promise<void>;
}

export interface HeldLock {
  lost: Promise<void>;
  release(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres';
  }
}

async function openPostgres(databaseUrl: string): Promise<Store> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  // Counters and ids fit in a double; returning strings for int8 would leak into every caller.
  pool.on('connect', (client) => {
    client.setTypeParser(INT8_OID, (v: string) => Number(v));
    client.setTypeParser(NUMERIC_OID, (v: string) => Number(v));
  });
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let listener: pg.Client | undefined;
  const handlers = new Map<string, Set<(payload: string) => void>>();
  return {
    db,
    kind: 'postgres',
    location: redactUrl(databaseUrl),
    async listen(channel, onNotify) {
      if (!listener) {
        listener = new pg.Client({ connectionString: databaseUrl });
        listener.on('error', () => undefined);
        await listener.connect();
        listener.on('notification', (msg) => {
          for (const h of handlers.get(msg.channel) ?? []) h(msg.payload ?? '');
        });
      }
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        await listener.query(`listen ${pg.escapeIdentifier(channel)}`);
      }
      set.add(onNotify);
      return async () => {
        set.delete(onNotify);
      };
    },
    async notify(channel, payload) {
      await sql`select pg_notify(${channel}, ${payload})`.execute(db);
    },
    async tryLock(key) {
      const client = new pg.Client({ connectionString: databaseUrl });
      let markLost!: () => void;
      const lost = new Promise<void>((resolve) => (markLost = resolve));
      client.on('error', () => markLost());
      client.on('end', () => markLost());
      await client.connect();
      const res = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [key]);
      if (!res.rows[0]?.ok) {
        await client.end().catch(() => undefined);
        return null;
      }
      return { lost, release: () => client.end().catch(() => undefined) };
    },
    async close() {
      await listener?.end().catch(() => undefined);
      await db.destroy();
    },
  };
}

async function openPglite(dataDir: string): Promise<Store> {
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  const unlock = inMemory ? () => undefined : lockDataDir(dataDir);
  let lite: PGlite;
  try {
    lite = await PGlite.create(dataDir, {
      parsers: { [INT8_OID]: (v: string) => Number(v), [NUMERIC_OID]: (v: string) => Number(v) },
    });
  } catch (err) {
    unlock();
    throw err;
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(lite) });
  return {
    db,
    kind: 'pglite',
    location: inMemory ? 'embedded PGlite (in memory)' : `embedded PGlite at ${dataDir}`,
    async listen(channel, onNotify) {
      const unsub = await lite.listen(channel, onNotify);
      return unsub;
    },
    async notify(channel, payload) {
      await sql`select pg_notify(${channel}, ${payload})`.execute(db);
    },
    // One process owns the data directory (see lockDataDir), so it always holds every lock.
    async tryLock() {
      return { lost: new Promise<void>(() => undefined), release: async () => undefined };
    },
    async close() {
      await db.destroy();
      unlock();
    },
  };
}

/** Opens the store and brings its schema up to date. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const store = options.databaseUrl
    ? await openPostgres(options.databaseUrl)
    : await openPglite(options.dataDir ?? 'memory://');
  try {
    await migrate(store.db);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
