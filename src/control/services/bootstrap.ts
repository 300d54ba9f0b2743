import { newId, idPrefixes } from '../../core/ids.js';
import { countTokens } from '../../store/tokens-repo.js';
import { getTeamByName, insertTeam } from '../../store/teams-repo.js';
import { getQueueByName, insertQueue } from '../../store/queues-repo.js';
import { inTransaction } from '../../store/transaction.js';
import { sql } from 'kysely';
import type { ControlContext } from '../context.js';
import type { AuthService } from './auth-service.js';

export interface BootstrapSecrets {
  adminToken: string;
  joinToken: string;
}

// Same key on every server so two first starts on one database cannot both bootstrap.
const BOOTSTRAP_LOCK_KEY = 7_340_002;

/**
 * On a database's very first start: the `default` team and queue (no limits) and the first admin
 * and join tokens, returned once so they can be shown once. Later starts return null.
 */
export async function bootstrap(ctx: ControlContext, auth: AuthService): Promise<BootstrapSecrets | null> {
  return inTransaction(ctx.db, async (tx) => {
    await sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`.execute(tx);
    if ((await countTokens(tx, 'api')) > 0) return null;
    const team = (await getTeamByName(tx, 'default')) ?? (await insertTeam(tx, { id: newId(idPrefixes.team), name: 'default' }));
    if (!(await getQueueByName(tx, 'default')))
      await insertQueue(tx, { id: newId(idPrefixes.queue), name: 'default', teamId: team.id, priority: 0, quotas: [] });
    const admin = await auth.createApiToken(tx, { name: 'admin', role: 'admin' });
    const join = await auth.createJoinToken(tx, null);
    return { adminToken: admin.token, joinToken: join.token };
  });
}
