import { createScratchDatabase } from './databases.js';

/** Where an integration test's server keeps its state: the embedded default, and PostgreSQL when DATABASE_URL is set. */
export interface ServerTarget {
  name: 'pglite' | 'postgres';
  /** A database URL for the server (undefined: embedded PGlite) and how to drop it. */
  prepare(): Promise<{ databaseUrl: string | undefined; drop(): Promise<void> }>;
}

export function serverTargets(): ServerTarget[] {
  const targets: ServerTarget[] = [{ name: 'pglite', prepare: async () => ({ databaseUrl: undefined, drop: async () => undefined }) }];
  const baseUrl = process.env.DATABASE_URL;
  if (baseUrl)
    targets.push({
      name: 'postgres',
      async prepare() {
        const scratch = await createScratchDatabase(baseUrl);
        return { databaseUrl: scratch.url, drop: scratch.drop };
      },
    });
  return targets;
}
