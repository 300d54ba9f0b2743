import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, ServerProcess, runCli, submit, tempDir, waitFor, waitForState } from '../support/fleet.js';
import { serverTargets } from '../support/targets.js';
import { ClientError, HttpClient } from '../../src/client/http.js';
import type { CostReportView, GpuTopRow, WasteReportView } from '../../src/core/telemetry-api.js';

/**
 * The agent's usage summaries reach the server and feed cost, waste and top: one job keeps its
 * simulated GPU busy, one holds its GPU idle, and only the idle one is reported as waste.
 */
for (const target of serverTargets())
describe(`cost, waste and top from a real agent’s GPU usage (${target.name})`, () => {
  let server: ServerProcess;
  let drop: () => Promise<void>;
  let agent: AgentProcess;
  let client: HttpClient;
  /** After both jobs started and the busy one was seen busy: the reports start here, past the time a GPU is held before its job runs. */
  let since = '';

  beforeAll(async () => {
    const prices = join(tempDir('prices'), 'prices.yaml');
    // 3600 per GPU-hour: one per GPU-second, so costs are easy to check against held time.
    writeFileSync(prices, 'models:\n  H100-80GB:\n    - { from: 2020-01-01, pricePerGpuHour: 3600 }\n');
    const db = await target.prepare();
    drop = db.drop;
    server = await new ServerProcess({ databaseUrl: db.databaseUrl, extraArgs: ['--price-book', prices] }).start();
    agent = await new AgentProcess(server, 'cost-node', '4xH100-80GB', {}, ['--telemetry-interval-ms', '200', '--usage-window-ms', '1000']).start();
    client = server.client();
    await submit(client, { name: 'busy', gpus: 1, command: ['sleep', '300'], gracePeriodSeconds: 1, env: { GPUFLEET_SIM_GPU_UTIL: '0.9' } });
    await submit(client, { name: 'idle', gpus: 2, command: ['sleep', '300'], gracePeriodSeconds: 1, env: { GPUFLEET_SIM_GPU_UTIL: '0' } });
    await waitForState(client, 'busy', ['running']);
    await waitForState(client, 'idle', ['running']);
    await waitFor('the busy job’s GPU seen busy', async () => {
      const rows = (await client.request<{ items: GpuTopRow[] }>('GET', '/v1/gpus')).items;
      return rows.some((g) => g.workload === 'busy' && (g.utilPct ?? 0) > 85);
    }, 30_000, 250);
    since = new Date().toISOString();
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await drop?.();
  });

  it('reports the idle job as waste once it held its GPUs idle longer than the threshold, and not the busy one', async () => {
    const report = await waitFor('the idle job in the waste report', async () => {
      const r = await client.request<WasteReportView>('GET', '/v1/waste', { query: { since, longerThan: '3s' } });
      return r.items.some((w) => w.workload === 'idle') ? r : undefined;
    }, 30_000, 500);
    expect(report.items.map((w) => w.workload)).toEqual(['idle']);
    const idle = report.items[0]!;
    expect(idle).toMatchObject({ team: 'default', queue: 'default', gpus: 2 });
    expect(idle.longestIdleSeconds).toBeGreaterThan(3);
    // Priced at one per GPU-second: the cost is the idle GPU-seconds.
    expect(idle.cost).toBeCloseTo(idle.wastedGpuHours * 3600, 6);
    expect(new Set(idle.stretches.map((s) => `${s.node}/${s.gpuIndex}`)).size).toBe(2);
  });

  it('prices each workload’s held GPU-time and measures its efficiency', async () => {
    const report = await waitFor('both jobs measured', async () => {
      const r = await client.request<CostReportView>('GET', '/v1/cost', { query: { since } });
      return r.byWorkload.length === 2 && r.byWorkload.every((w) => w.measuredGpuHours > 0) ? r : undefined;
    }, 30_000, 500);
    const busy = report.byWorkload.find((w) => w.workload === 'busy')!;
    const idle = report.byWorkload.find((w) => w.workload === 'idle')!;
    expect(busy.efficiency).toBeGreaterThan(0.85);
    expect(idle.efficiency).toBeLessThan(0.05);
    expect(busy.cost).toBeCloseTo(busy.allocatedGpuHours * 3600, 6);
    expect(idle.allocatedGpuHours).toBeGreaterThan(busy.allocatedGpuHours * 1.5);
    const team = report.byTeam.find((t) => t.team === 'default')!;
    expect(team.cost).toBeCloseTo(busy.cost + idle.cost, 6);
    // The fourth GPU nobody holds is the idle row; everything adds up to the totals.
    expect(report.idle!.gpuHours).toBeGreaterThan(0);
    expect(team.billableGpuHours + report.idle!.gpuHours + report.unallocatedUse!.gpuHours).toBeCloseTo(report.totals!.gpuHours, 9);
  });

  it('shows every GPU live with its holder and latest sample', async () => {
    const rows = await waitFor('samples of all four GPUs', async () => {
      const r = (await client.request<{ items: GpuTopRow[] }>('GET', '/v1/gpus')).items;
      return r.length === 4 && r.every((g) => g.sampledAt !== null) ? r : undefined;
    });
    const busy = rows.filter((g) => g.workload === 'busy');
    expect(busy).toHaveLength(1);
    expect(busy[0]!.utilPct).toBeGreaterThan(85);
    const idle = rows.filter((g) => g.workload === 'idle');
    expect(idle).toHaveLength(2);
    for (const g of idle) expect(g.utilPct).toBeLessThan(5);
    expect(rows.filter((g) => g.workload === null)).toHaveLength(1);
  });

  it('serves the same through the CLI, as tables and as JSON', async () => {
    const byWorkload = await runCli(server, ['cost', '--by', 'workload', '--since', since]);
    expect(byWorkload.code, byWorkload.stderr).toBe(0);
    expect(byWorkload.stdout).toMatch(/^WORKLOAD\s+GPU-HOURS\s+USED\s+EFFICIENCY\s+COST\s+UNPRICED$/m);
    expect(byWorkload.stdout).toMatch(/^busy \(default\)\s+\S+\s+\S+\s+(8\d|9\d)%/m);
    expect(byWorkload.stdout).toMatch(/^\(idle\)\s/m);
    const json = await runCli(server, ['cost', '--by', 'team', '--since', '1h', '-o', 'json']);
    expect((JSON.parse(json.stdout) as CostReportView).byTeam.map((t) => t.team)).toEqual(['default']);
    const waste = await runCli(server, ['waste', '--since', since, '--longer-than', '3s']);
    expect(waste.code, waste.stderr).toBe(0);
    expect(waste.stdout).toMatch(/^idle\s+default\s+default\s+2\s/m);
    expect(waste.stdout).not.toMatch(/^busy\s/m);
    const top = await runCli(server, ['top']);
    expect(top.stdout).toMatch(/^cost-node\s+\d\s+H100-80GB\s+busy\s+default\s+(8\d|9\d)%/m);
  });

  it('shows a member only their team’s rows, without the fleet-wide ones, and refuses them another team', async () => {
    await client.request('PUT', '/v1/teams/ml', { body: {} });
    const created = await client.request<{ token: string }>('POST', '/v1/tokens', { body: { name: 'ml-member', role: 'member', team: 'ml' } });
    const member = new HttpClient({ baseUrl: server.url, token: created.token });
    const report = await member.request<CostReportView>('GET', '/v1/cost', { query: { since } });
    expect(report).toMatchObject({ byWorkload: [], byTeam: [], byQueue: [], idle: null, unallocatedUse: null, totals: null });
    const err = await member.request('GET', '/v1/waste', { query: { team: 'default' } }).catch((e: unknown) => e);
    expect((err as ClientError).status).toBe(403);
  });

  it('refuses a bad window with a 400 naming the field', async () => {
    const err = await client.request('GET', '/v1/cost', { query: { since: 'last tuesday' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).status).toBe(400);
    expect((err as ClientError).message).toMatch(/since/);
    const backwards = await client.request('GET', '/v1/waste', { query: { since: '1h', until: '2h' } }).catch((e: unknown) => e);
    expect((backwards as ClientError).status).toBe(400);
    expect((backwards as ClientError).message).toMatch(/since: must be before until/);
  });
});
