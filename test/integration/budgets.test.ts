import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, ServerProcess, runCli, submit, tempDir, waitFor, waitForState } from '../support/fleet.js';
import type { HttpClient } from '../../src/client/http.js';
import type { Workload } from '../../src/core/api-types.js';
import type { BudgetStatusView } from '../../src/core/telemetry-api.js';

/** A team over its GPU-hour budget only runs preemptible work; a team within budget runs anything. */
describe('team budgets on a real server and agent', () => {
  let server: ServerProcess;
  let agent: AgentProcess;
  let client: HttpClient;

  beforeAll(async () => {
    const dir = tempDir('budgets');
    // default: 2 GPU-seconds a day, spent within seconds; ml: plenty.
    writeFileSync(join(dir, 'budgets.yaml'), 'period: day\nteams:\n  default: { gpuHours: 0.00055 }\n  ml: { gpuHours: 1000 }\n');
    server = await new ServerProcess({ extraArgs: ['--budgets', join(dir, 'budgets.yaml'), '--budget-refresh-ms', '200'] }).start();
    agent = await new AgentProcess(server, 'budget-node', '4xH100-80GB').start();
    client = server.client();
    await client.request('PUT', '/v1/teams/ml', { body: {} });
    await client.request('PUT', '/v1/queues/ml-q', { body: { team: 'ml' } });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
  });

  const budget = async (team: string) => (await client.request<{ items: BudgetStatusView[] }>('GET', '/v1/budgets')).items.find((b) => b.team === team)!;

  it('runs anything while the team is within budget, then holds its non-preemptible work once it is spent', async () => {
    expect(await budget('default')).toMatchObject({ over: false, period: 'day', limitGpuHours: 0.00055 });
    await submit(client, { name: 'spender', gpus: 2, command: ['sleep', '3'], priorityClass: 'inference' });
    await waitForState(client, 'spender', ['succeeded'], 30_000);
    const spent = await waitFor('the default team over budget', async () => {
      const b = await budget('default');
      return b.over ? b : undefined;
    });
    expect(spent.usedGpuHours).toBeGreaterThanOrEqual(0.00055);
    expect(spent.reason).toMatch(/^team default is over its budget \(.* of 0\.00055 GPU-hours this day\): only preemptible work runs$/);

    await submit(client, { name: 'steady', gpus: 1, command: ['true'], priorityClass: 'inference' });
    await submit(client, { name: 'cheap', gpus: 1, command: ['true'], priorityClass: 'batch' });
    expect((await waitForState(client, 'cheap', ['succeeded'])).state).toBe('succeeded');
    const held = await waitFor('a budget reason on the held job', async () => {
      const w = await client.request<Workload>('GET', '/v1/workloads/steady');
      return w.reason?.includes('over its budget') ? w : undefined;
    });
    expect(held.state).toBe('pending');
  });

  it('does not hold another team within its budget', async () => {
    await submit(client, { name: 'ml-serving', team: 'ml', queue: 'ml-q', gpus: 1, command: ['true'], priorityClass: 'inference' });
    expect((await waitForState(client, 'ml-serving', ['succeeded'])).state).toBe('succeeded');
    expect((await budget('ml')).over).toBe(false);
  });

  it('lists the budgets through the CLI', async () => {
    const out = await runCli(server, ['budgets']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^default\s+day\s+\S+\s+[\d.]+ \/ 0\.00055\s+\S+\s+yes: only preemptible work runs$/m);
    expect(out.stdout).toMatch(/^ml\s+day\s+\S+\s+[\d.]+ \/ 1000\s+\S+\s+no$/m);
  });
});
