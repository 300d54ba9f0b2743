import { createScratchDatabase } from '../test/support/databases.js';

/**
 * Runs `work` against a throw-away PostgreSQL database (on DATABASE_URL, else the local server) and
 * drops it after; without PostgreSQL it says why and returns undefined, so a benchmark still reports
 * its other scenarios.
 */
export async function onScratchPostgres<T>(work: (databaseUrl: string) => Promise<T>): Promise<T | undefined> {
  const base = process.env.DATABASE_URL ?? `postgres://${process.env.USER ?? 'root'}@127.0.0.1:5432/postgres`;
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  try {
    scratch = await createScratchDatabase(base);
  } catch (err) {
    console.log(`PostgreSQL scenario skipped: cannot create a database at ${base} (${(err as Error).message}); set DATABASE_URL`);
    return undefined;
  }
  try {
    return await work(scratch.url);
  } finally {
    await scratch.drop();
  }
}
