import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentProcess, ServerProcess, isAlive, submit, tempDir, waitFor, waitForState } from '../support/fleet.js';
import { serverTargets } from '../support/targets.js';
import type { Workload, Node } from '../../src/core/api-types.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

describe('a killed agent', () => {
  it('has its job requeued onto another node, and a stale copy is killed when it comes back', async () => {
    const server = await new ServerProcess({ suspectAfterMs: 1000, lostAfterMs: 2500, heartbeatIntervalMs: 300 }).start();
    cleanups.push(() => server.stop());
    const a = await new AgentProcess(server, 'node-a', '2xA100-40GB').start();
    cleanups.push(() => a.stop());
    const client = server.client();
    const marks = tempDir('marks');
    // Only node-a exists, so the job starts there; node-b joins afterwards. The first run outlasts
    // node-b's start and node-a's loss however slow the machine is; the rerun ends soon.
    const starts = join(marks, 'starts');
    await submit(client, { name: 'train', gpus: 2, command: ['sh', '-c', `echo "$GPUFLEET_REPLICA_ID" >> ${starts}; if [ "$(wc -l < ${starts})" -eq 1 ]; then sleep 120; else sleep 1; fi`] });
    const first = await waitForState(client, 'train', ['running']);
    expect(first.node).toBe('node-a');
    const b = await new AgentProcess(server, 'node-b', '2xA100-40GB').start();
    cleanups.push(() => b.stop());
    const stalePids = a.replicaPids();
    await a.kill('SIGKILL');

    const lost = await waitFor('node-a to be lost', async () => {
      const nodes = await client.request<{ items: Node[] }>('GET', '/v1/nodes');
      return nodes.items.find((n) => n.name === 'node-a' && n.state === 'lost');
    });
    expect(lost).toBeDefined();
    const rerun = await waitForState(client, 'train', ['succeeded', 'failed'], 30_000);
    expect(rerun).toMatchObject({ state: 'succeeded', node: 'node-b', attempts: 2, generation: first.generation + 1 });

    // node-a comes back with its state dir: its stale copy, still running, is fenced and killed.
    await a.start();
    await waitFor('the stale copy on node-a to be gone', async () => stalePids.every((p) => !isAlive(p)), 15_000);
    const ran = readFileSync(starts, 'utf8').trim().split('\n');
    expect(ran).toHaveLength(2);
    expect(new Set(ran).size).toBe(2);
  });
});

for (const target of serverTargets()) {
  describe(`a server killed with SIGKILL (${target.name})`, () => {
    it('comes back losing no job and running none twice', async () => {
      const db = await target.prepare();
      cleanups.push(db.drop);
      const server = await new ServerProcess({ databaseUrl: db.databaseUrl, heartbeatIntervalMs: 300 }).start();
      cleanups.push(() => server.stop());
      const agent = await new AgentProcess(server, 'node-1', '4xH100-80GB').start();
      cleanups.push(() => agent.stop());
      const client = server.client();
      const marks = tempDir('runs');
      const ledger = join(marks, 'ledger');
      writeFileSync(ledger, '');
      const names = Array.from({ length: 10 }, (_, i) => `batch-${i}`);
      for (const name of names)
        await submit(client, { name, gpus: 1, command: ['sh', '-c', `echo ${name} >> ${ledger}; sleep 1.5; echo finished ${name}`] });
      await waitFor('some jobs to be running', async () => {
        const list = await client.request<{ items: Workload[] }>('GET', '/v1/workloads');
        return list.items.some((w) => w.state === 'running');
      });

      await server.restart();
      await waitFor('the server to answer after restart', async () => (await fetch(`${server.url}/readyz`)).ok);
      const after = server.client();
      for (const name of names) {
        const w = await waitForState(after, name, ['succeeded', 'failed', 'cancelled'], 60_000);
        expect(w.state, name).toBe('succeeded');
        expect(w.attempts, name).toBe(1);
      }
      const runs = readFileSync(ledger, 'utf8').trim().split('\n').sort();
      expect(runs).toEqual([...names].sort());
      const logs = await after.request<{ entries: { data: string }[] }>('GET', '/v1/workloads/batch-0/logs');
      expect(logs.entries.map((e) => e.data).join('')).toContain('finished batch-0');
    });
  });
}
