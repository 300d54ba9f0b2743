import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { openStore, type Store } from '../../src/store/db.js';

/**
 * The databases a store test runs on: embedded PGlite always, and a real PostgreSQL whenever
 * DATABASE_URL is set (CI sets it). Each test gets a database of its own, dropped afterwards.
 */
export interface DatabaseTarget {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated store. */
  open(): Promise<{ store: Store; url: string | undefined; drop(): Promise<void> }>;
}

export async function createScratchDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gpufleet_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export function databaseTargets(): DatabaseTarget[] {
  const targets: DatabaseTarget[] = [
    {
      name: 'pglite',
      async open() {
        const store = await openStore({ dataDir: 'memory://' });
        return { store, url: undefined, drop: () => store.close() };
      },
    },
  ];
  const baseUrl = process.env.DATABASE_URL;
  if (baseUrl) {
    targets.push({
      name: 'postgres',
      async open() {
        const scratch = await createScratchDatabase(baseUrl);
        const store = await openStore({ databaseUrl: scratch.url });
        return {
          store,
          url: scratch.url,
          async drop() {
            await store.close();
            await scratch.drop();
          },
        };
      },
    });
  }
  return targets;
}
