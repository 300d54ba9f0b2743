import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './main.js';
import { HttpClient } from '../client/http.js';
import type { RegisterResponse } from '../core/agent-protocol.js';
import type { CostReportView } from '../core/telemetry-api.js';

/**
 * A node is priced from its pool's catalog: the pool is the node's value of the scheduler's pool
 * label (here `nodepool`, set in the scheduler config), its instance type the node's label.
 */
describe('pool prices from a catalog on the server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-cost-pools-'));
  let server: RunningServer;
  let admin: HttpClient;

  beforeAll(async () => {
    // 8 GPUs at 28800 an hour: 3600 per GPU-hour, so the cost of a GPU is its GPU-seconds.
    writeFileSync(
      join(dir, 'vms.csv'),
      ['InstanceType,vCPUs,MemoryGiB,AcceleratorName,AcceleratorCount,GpuInfo,Region,AvailabilityZone,Price,SpotPrice', 'p5.48xlarge,192,2048,H100,8,"{\'Gpus\': 8}",us-east-1,use1-az1,28800,'].join('\n'),
    );
    writeFileSync(join(dir, 'prices.yaml'), 'pools:\n  aws:\n    catalog: vms.csv\n    region: us-east-1\n');
    writeFileSync(join(dir, 'scheduler.yaml'), 'poolLabel: nodepool\n');
    server = await startServer({ port: 0, dataDir: 'memory://', logLevel: 'silent', priceBookFile: join(dir, 'prices.yaml'), schedulerConfigFile: join(dir, 'scheduler.yaml') });
    admin = new HttpClient({ baseUrl: server.url, token: server.bootstrap!.adminToken });
    const register = (name: string, instanceType: string) =>
      new HttpClient({ baseUrl: server.url }).request<RegisterResponse>('POST', '/v1/agent/register', {
        body: {
          joinToken: server.bootstrap!.joinToken,
          name,
          gpus: [{ index: 0, uuid: `GPU-${name}`, model: 'H100-80GB', memoryMiB: 81920 }],
          simulated: true,
          labels: { nodepool: 'aws', 'node.kubernetes.io/instance-type': instanceType },
          cpus: 0,
          memoryMiB: 0,
          agentVersion: 'test',
        },
      });
    await register('in-catalog', 'p5.48xlarge');
    // The book has no model prices, so a node whose instance type the catalog lacks is unpriced.
    await register('not-in-catalog', 'x9.huge');
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('charges the catalog price per GPU-hour on the node whose instance type it lists, and nothing guessed on the other', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const report = await admin.request<CostReportView>('GET', '/v1/cost', { query: { since: '1h' } });
    const { gpuHours, cost, unpricedGpuHours } = report.totals!;
    const priced = gpuHours - unpricedGpuHours;
    expect(priced).toBeGreaterThan(0);
    expect(unpricedGpuHours).toBeGreaterThan(0);
    expect(cost).toBeCloseTo(priced * 3600, 6);
  });
});
