import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, ServerProcess, freePort, repoRoot, submit, waitFor, waitForState } from '../support/fleet.js';
import { serverTargets } from '../support/targets.js';

const leaderGauge = async (server: ServerProcess): Promise<number> => {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^gpufleet_scheduler_leader\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? NaN);
};

describe('two servers on one embedded database', () => {
  it('refuses the second: PGlite belongs to one process', async () => {
    const first = await new ServerProcess().start();
    try {
      const second = spawnSync(process.execPath, [join(repoRoot, 'bin', 'gpufleet.js'), 'server', '--port', String(await freePort()), '--data-dir', first.dataDir], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, DATABASE_URL: '', GPUFLEET_HOME: first.home },
      });
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(/in use by another gpufleet process/);
      expect((await fetch(`${first.url}/readyz`)).ok).toBe(true);
    } finally {
      await first.stop();
    }
  });
});

// Two servers share only a real PostgreSQL (the embedded database belongs to one process).
for (const target of serverTargets().filter((t) => t.name === 'postgres')) {
  describe('two servers on one PostgreSQL', () => {
    let first: ServerProcess;
    let second: ServerProcess;
    let agent: AgentProcess;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const db = await target.prepare();
      drop = db.drop;
      first = await new ServerProcess({ databaseUrl: db.databaseUrl }).start();
      second = await new ServerProcess({ databaseUrl: db.databaseUrl, tokensFrom: first }).start();
      agent = await new AgentProcess(second, 'shared-node', '2xH100-80GB').start();
    });
    afterAll(async () => {
      await agent?.stop();
      await second?.stop();
      await first?.stop();
      await drop?.();
    });

    it('has exactly one scheduler leader, and work submitted to the other runs', async () => {
      expect([await leaderGauge(first), await leaderGauge(second)]).toEqual([1, 0]);
      await submit(second.client(), { name: 'via-follower', gpus: 1, command: ['true'] });
      expect((await waitForState(second.client(), 'via-follower', ['succeeded', 'failed'])).state).toBe('succeeded');
    });

    it('hands the lead over when the leader is killed', async () => {
      await first.kill('SIGKILL');
      await waitFor('the second server to take the lead', async () => (await leaderGauge(second)) === 1, 20_000);
      await submit(second.client(), { name: 'after-failover', gpus: 2, command: ['true'] });
      expect((await waitForState(second.client(), 'after-failover', ['succeeded', 'failed'])).state).toBe('succeeded');
    });
  });
}
