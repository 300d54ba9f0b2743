import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './main.js';
import { HttpClient } from '../client/http.js';
import type { GatewayReport } from '../core/gateway-report.js';
import type { AlertView } from '../core/telemetry-api.js';

const report = (requests: number, errors: number): GatewayReport => ({
  gateway: 'gw-test',
  models: [{ model: 'chat-model', waiting: 0, versions: [{ version: 'v1', counters: { requests, errors, ttft: { le: [0.5], counts: [requests, requests] } } }] }],
});
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A server raises a page and a ticket, stops, and a new one takes over the same database while the
 * outage goes on: it raises neither again, and resolves both once the requests succeed.
 */
describe('SLO alerts across a server restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-slo-restart-'));
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = () => startServer({ port: 0, dataDir: join(dir, 'data'), logLevel: 'silent', schedulerIntervalMs: 60_000, sloIntervalMs: 200 });
  const until = async (what: string, probe: () => Promise<boolean>) => {
    for (let i = 0; i < 150; i++) {
      if (await probe()) return;
      await pause(100);
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  it('neither raises an alert again nor forgets one that fires', async () => {
    server = await start();
    const token = server.bootstrap!.adminToken;
    let admin = new HttpClient({ baseUrl: server.url, token });
    const alerts = () => admin.request<{ firing: AlertView[]; history: AlertView[] }>('GET', '/v1/alerts?since=1h');
    await admin.request('PUT', '/v1/services/chat', { body: { model: 'chat-model', replicas: 0, command: ['sleep', '300'], slo: { availability: 0.999 } } });
    await admin.request('POST', '/v1/gateway/reports', { body: report(0, 0) });
    await pause(500);
    await admin.request('POST', '/v1/gateway/reports', { body: report(1500, 1000) });
    await until('a page and a ticket', async () => (await alerts()).firing.length === 2);
    await server.close();

    server = await start();
    admin = new HttpClient({ baseUrl: server.url, token });
    // The outage goes on: the new server's first sight of the counters is its baseline, then more fail.
    await admin.request('POST', '/v1/gateway/reports', { body: report(1500, 1000) });
    await pause(500);
    await admin.request('POST', '/v1/gateway/reports', { body: report(3000, 2500) });
    await pause(1000);
    expect((await alerts()).history.map((a) => [a.severity, a.state]).sort()).toEqual([
      ['page', 'firing'],
      ['ticket', 'firing'],
    ]);

    // A million good answers bring the bad share under both thresholds: 2,500 of about 1,000,500.
    await admin.request('POST', '/v1/gateway/reports', { body: report(1_003_000, 2500) });
    await until('both alerts resolved', async () => (await alerts()).firing.length === 0);
    expect((await alerts()).history.map((a) => [a.severity, a.state]).sort()).toEqual([
      ['page', 'firing'],
      ['page', 'resolved'],
      ['ticket', 'firing'],
      ['ticket', 'resolved'],
    ]);
  }, 60_000);
});
