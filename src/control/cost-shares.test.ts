import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './main.js';
import { HttpClient } from '../client/http.js';
import type { RegisterResponse } from '../core/agent-protocol.js';
import type { Workload } from '../core/api-types.js';
import type { CostReportView } from '../core/telemetry-api.js';

/** Two half shares of one GPU, placed by the server's scheduler, are costed half the GPU each. */
describe('cost of GPU shares on the server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-cost-shares-'));
  let server: RunningServer;
  let admin: HttpClient;

  beforeAll(async () => {
    const prices = join(dir, 'prices.yaml');
    writeFileSync(prices, 'models:\n  H100-80GB:\n    - { from: 2020-01-01, pricePerGpuHour: 3600 }\n');
    server = await startServer({ port: 0, dataDir: 'memory://', logLevel: 'silent', schedulerIntervalMs: 100, priceBookFile: prices });
    admin = new HttpClient({ baseUrl: server.url, token: server.bootstrap!.adminToken });
    await new HttpClient({ baseUrl: server.url }).request<RegisterResponse>('POST', '/v1/agent/register', {
      body: { joinToken: server.bootstrap!.joinToken, name: 'n1', gpus: [{ index: 0, uuid: 'GPU-0', model: 'H100-80GB', memoryMiB: 81920 }], simulated: true, labels: {}, cpus: 0, memoryMiB: 0, agentVersion: 'test' },
    });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('charges each holder its share and never more than the GPU', async () => {
    for (const name of ['left', 'right']) await admin.request('POST', '/v1/workloads', { body: { name, gpus: 0.5, command: ['sleep', '60'] } });
    for (let i = 0; ; i++) {
      const states = await Promise.all(['left', 'right'].map(async (n) => (await admin.request<Workload>('GET', `/v1/workloads/${n}`)).state));
      if (states.every((s) => s === 'admitted' || s === 'running')) break;
      if (i > 200) throw new Error(`not both admitted: ${states.join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    const report = await admin.request<CostReportView>('GET', '/v1/cost', { query: { since: '1h' } });
    const [left, right] = ['left', 'right'].map((n) => report.byWorkload.find((w) => w.workload === n)!);
    // Each held half the GPU for at most the time it was listed; at one per GPU-second, cost is GPU-seconds.
    for (const w of [left!, right!]) {
      expect(w.allocatedGpuHours).toBeGreaterThan(0);
      expect(w.allocatedGpuHours * 2).toBeLessThanOrEqual(report.totals!.gpuHours);
      expect(w.cost).toBeCloseTo(w.allocatedGpuHours * 3600, 6);
    }
    // Their overlap is not charged twice: the team, idle and unallocated use add up to the GPU's time.
    const team = report.byTeam.find((t) => t.team === 'default')!;
    expect(team.billableGpuHours).toBeLessThanOrEqual(report.totals!.gpuHours);
    expect(team.billableGpuHours + report.idle!.gpuHours + report.unallocatedUse!.gpuHours).toBeCloseTo(report.totals!.gpuHours, 9);
    expect(team.cost + report.idle!.cost + report.unallocatedUse!.cost).toBeCloseTo(report.totals!.cost, 6);
  });
});
