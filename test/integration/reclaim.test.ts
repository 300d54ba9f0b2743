import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, ServerProcess, getWorkload, readAllLogs, submit, tempDir, waitFor, waitForState } from '../support/fleet.js';
import { serverTargets } from '../support/targets.js';
import type { HttpClient } from '../../src/client/http.js';
import type { Workload, WorkloadEvent } from '../../src/core/api-types.js';

/**
 * Team A's queue has no guarantee and borrows the whole node; team B's queue is guaranteed 4 GPUs.
 * When B asks, A's preemptible job is reclaimed (stopped, requeued), B's job runs, then A's runs
 * again from the start and finishes.
 */
for (const target of serverTargets()) {
  describe(`reclaiming borrowed GPUs on a real server and agent (${target.name})`, () => {
    let server: ServerProcess;
    let agent: AgentProcess;
    let client: HttpClient;
    let drop: () => Promise<void>;
    const dir = tempDir('reclaim');

    beforeAll(async () => {
      const db = await target.prepare();
      drop = db.drop;
      const schedulerConfig = join(dir, 'scheduler.yaml');
      // Reclaim at once: the default protects a job for its first minute.
      writeFileSync(schedulerConfig, 'minRuntimeMs: 0\n');
      server = await new ServerProcess({ databaseUrl: db.databaseUrl, schedulerConfig }).start();
      agent = await new AgentProcess(server, 'gpu-node-1', '4xH100-80GB', { rack: 'r1' }).start();
      client = server.client();
      await client.request('PUT', '/v1/teams/team-a', { body: {} });
      await client.request('PUT', '/v1/teams/team-b', { body: {} });
      await client.request('PUT', '/v1/queues/research', { body: { team: 'team-a', quotas: [{ guaranteed: 0 }] } });
      await client.request('PUT', '/v1/queues/prod', { body: { team: 'team-b', quotas: [{ guaranteed: 4 }] } });
    });
    afterAll(async () => {
      await agent?.stop();
      await server?.stop();
      await drop?.();
    });

    it('reclaims a borrowing job for the queue that owns the GPUs, then runs it again', async () => {
      const marker = join(dir, 'first-attempt-started');
      // The first attempt runs until stopped; the second finds the marker and finishes.
      const script = `if [ -f ${marker} ]; then echo second attempt; exit 0; fi; touch ${marker}; echo first attempt; while true; do sleep 0.2; done`;
      const borrower = await submit(client, { name: 'borrower', team: 'team-a', queue: 'research', gpus: 4, priorityClass: 'train', command: ['sh', '-c', script], gracePeriodSeconds: 2 });
      expect(borrower).toMatchObject({ preemptible: true, priority: 300, priorityClass: 'train' });
      await waitForState(client, borrower.id, ['running']);

      // Watch the borrower's states from here on.
      const seen: Workload['state'][] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const w = await getWorkload(client, borrower.id);
          if (seen.at(-1) !== w.state) seen.push(w.state);
          await new Promise((r) => setTimeout(r, 25));
        }
      })();

      const owner = await submit(client, { name: 'owner', team: 'team-b', queue: 'prod', gpus: 4, command: ['sh', '-c', 'echo owner ran; sleep 1'] });
      const done = await waitForState(client, owner.id, ['succeeded', 'failed'], 60_000);
      expect(done.state).toBe('succeeded');

      const again = await waitForState(client, borrower.id, ['succeeded', 'failed'], 60_000);
      watching = false;
      await watcher;
      expect(again).toMatchObject({ state: 'succeeded', exitCode: 0, attempts: 2 });
      expect(await readAllLogs(client, borrower.id)).toContain('second attempt');

      // running → preempted (replicas stopping) → pending (requeued) → … → succeeded.
      const from = seen.indexOf('running');
      const path = seen.slice(from);
      expect(path[0], seen.join(' → ')).toBe('running');
      expect(path, seen.join(' → ')).toContain('pending');
      expect(path.indexOf('pending'), seen.join(' → ')).toBeGreaterThan(0);
      if (path.includes('preempted')) expect(path.indexOf('preempted')).toBeLessThan(path.indexOf('pending'));

      const events = (await client.request<{ items: WorkloadEvent[] }>('GET', `/v1/workloads/${borrower.id}/events`)).items;
      const kinds = events.map((e) => e.kind);
      const preempted = events.find((e) => e.kind === 'workload.preempted');
      expect(preempted, kinds.join(', ')).toBeDefined();
      expect(preempted!.data).toMatchObject({ kind: 'reclaim', forWorkloadId: owner.id });
      expect(kinds.indexOf('workload.requeued')).toBeGreaterThan(kinds.indexOf('workload.preempted'));
      expect(kinds.lastIndexOf('workload.admitted')).toBeGreaterThan(kinds.indexOf('workload.requeued'));
    });

    it('explains why a job waits, in the API and as the first reason', async () => {
      const big = await submit(client, { name: 'too-big', team: 'team-b', queue: 'prod', gpus: 8, command: ['true'] });
      const explained = await waitFor('reasons for the job that cannot fit', async () => {
        const e = await client.request<{ workload: string; state: string; reasons: string[] }>('GET', `/v1/workloads/${big.id}/explain`);
        return e.reasons.length > 0 && !e.reasons[0]!.includes('waiting for the scheduler') ? e : undefined;
      });
      expect(explained).toMatchObject({ workload: 'too-big', state: 'pending' });
      expect((await getWorkload(client, big.id)).reason).toBe(explained.reasons[0]);
      await client.request('POST', `/v1/workloads/${big.id}/cancel`, { body: {} });
    });
  });
}
