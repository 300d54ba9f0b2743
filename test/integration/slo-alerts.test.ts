import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerProcess, runCli, waitFor } from '../support/fleet.js';
import { LocalHttpServer } from '../support/local-http-server.js';
import type { HttpClient } from '../../src/client/http.js';
import type { GatewayReport } from '../../src/core/gateway-report.js';
import type { AlertView } from '../../src/core/telemetry-api.js';

/** A webhook receiver: keeps every JSON body posted to it. */
class WebhookReceiver extends LocalHttpServer {
  readonly received: AlertView[] = [];

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    this.received.push(JSON.parse(body) as AlertView);
    res.writeHead(204).end();
  }
}

/**
 * A service declares an availability SLO; the gateway's counters (posted as a gateway posts them)
 * show every request failing; the server raises a page and a ticket to the webhook, as events, and
 * through GET /v1/alerts and `gpufleet alerts`, each listing the service's changes before it.
 */
describe('SLO burn-rate alerts on a real server', () => {
  let server: ServerProcess;
  let client: HttpClient;
  const hook = new WebhookReceiver();

  const report = (requests: number, errors: number): GatewayReport => ({
    gateway: 'gw-test',
    models: [{ model: 'chat-model', waiting: 0, versions: [{ version: 'v1', counters: { requests, errors, ttft: { le: [0.5], counts: [requests, requests] } } }] }],
  });

  beforeAll(async () => {
    await hook.start();
    server = await new ServerProcess({ extraArgs: ['--slo-interval-ms', '200', '--alert-webhook', `${hook.url}/alerts`] }).start();
    client = server.client();
    await client.request('PUT', '/v1/services/chat', { body: { model: 'chat-model', replicas: 0, command: ['sleep', '300'], slo: { availability: 0.999 } } });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await hook.stop();
  });

  it('raises nothing while the requests succeed', async () => {
    await client.request('POST', '/v1/gateway/reports', { body: report(0, 0) });
    await new Promise((r) => setTimeout(r, 600));
    await client.request('POST', '/v1/gateway/reports', { body: report(500, 0) });
    await new Promise((r) => setTimeout(r, 600));
    expect((await client.request<{ firing: AlertView[] }>('GET', '/v1/alerts')).firing).toEqual([]);
    expect(hook.received).toEqual([]);
  });

  it('pages and files a ticket when every request fails, with the changes before it, to the webhook and the API', async () => {
    await client.request('POST', '/v1/gateway/reports', { body: report(1500, 1000) });
    await waitFor(`two alerts at the webhook (server: ${server.output()})`, async () => hook.received.length >= 2, 15_000, 100);
    expect(hook.received.map((a) => [a.service, a.objective, a.severity, a.state]).sort()).toEqual([
      ['chat', 'availability', 'page', 'firing'],
      ['chat', 'availability', 'ticket', 'firing'],
    ]);
    for (const a of hook.received) {
      expect(a.longBurn).toBeGreaterThan(14.4);
      expect(a.changes.map((c) => [c.kind, c.target])).toContainEqual(['service.created', 'service/chat']);
    }
    const alerts = await client.request<{ firing: AlertView[]; history: AlertView[] }>('GET', '/v1/alerts');
    expect(alerts.firing.map((a) => a.severity).sort()).toEqual(['page', 'ticket']);
    const cli = await runCli(server, ['alerts']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^\S+\s+page\s+firing\s+chat\s+availability 0\.999\s+\S+× \/ \S+×\s+service\.created$/m);
    const events = await runCli(server, ['events', '--kind', 'alert.']);
    expect(events.stdout).toMatch(/\sslo\s+alert\.firing\s+service\/chat\s+page: service chat is burning its availability 0\.999 error budget/);
  });

  it('refuses an SLO without an objective, naming the field', async () => {
    const err = await client.request('PUT', '/v1/services/chat', { body: { model: 'chat-model', replicas: 0, command: ['sleep', '300'], slo: {} } }).catch((e: unknown) => e);
    expect((err as { status: number }).status).toBe(400);
    expect((err as Error).message).toContain('slo');
  });
});
