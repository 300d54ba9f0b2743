import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, ServerProcess, runCli, submit, waitFor, waitForState } from '../support/fleet.js';
import { serverTargets } from '../support/targets.js';
import { ClientError, HttpClient } from '../../src/client/http.js';
import type { Node } from '../../src/core/api-types.js';
import type { EventView } from '../../src/core/telemetry-api.js';

/** Every change is an event with actor, target and time; GET /v1/events and `gpufleet events` filter them. */
for (const target of serverTargets())
describe(`the fleet’s events on a real server and agent (${target.name})`, () => {
  let drop: () => Promise<void>;
  let server: ServerProcess;
  let agent: AgentProcess;
  let admin: HttpClient;
  let adminName = '';
  let nodeId = '';

  const events = (query: Record<string, string | number> = {}) => admin.request<{ items: EventView[] }>('GET', '/v1/events', { query }).then((r) => r.items);

  beforeAll(async () => {
    const db = await target.prepare();
    drop = db.drop;
    server = await new ServerProcess({ databaseUrl: db.databaseUrl, suspectAfterMs: 1000, lostAfterMs: 2000, heartbeatIntervalMs: 300 }).start();
    agent = await new AgentProcess(server, 'ev-node', '2xH100-80GB').start();
    admin = server.client();
    adminName = (await admin.request<{ name: string }>('GET', '/v1/whoami')).name;
    nodeId = (await admin.request<{ items: Node[] }>('GET', '/v1/nodes')).items[0]!.id;
    await admin.request('PUT', '/v1/teams/ml', { body: {} });
    await submit(admin, { name: 'hello', gpus: 1, command: ['true'] });
    await waitForState(admin, 'hello', ['succeeded']);
    await admin.request('PUT', '/v1/services/chat', { body: { model: 'chat-model', replicas: 0, command: ['sleep', '300'], gracePeriodSeconds: 1 } });
    await admin.request('PUT', '/v1/services/chat', { body: { model: 'chat-model', replicas: 1, command: ['sleep', '300'], gracePeriodSeconds: 1 } });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await drop?.();
  });

  it('records apply, submit, admission, the end, scaling and the node joining, each with its actor and target', async () => {
    const all = await events();
    const seen = all.map((e) => [e.kind, e.actor, `${e.targetKind}/${e.target}`]);
    expect(seen).toContainEqual(['node.joined', `node:${nodeId}`, 'node/ev-node']);
    expect(seen).toContainEqual(['team.created', adminName, 'team/ml']);
    expect(seen).toContainEqual(['workload.submitted', adminName, 'workload/hello']);
    expect(seen).toContainEqual(['workload.admitted', 'scheduler', 'workload/hello']);
    expect(seen).toContainEqual(['workload.succeeded', `node:${nodeId}`, 'workload/hello']);
    expect(seen).toContainEqual(['service.created', adminName, 'service/chat']);
    expect(seen).toContainEqual(['service.scaled', adminName, 'service/chat']);
    // Oldest first, each with a time.
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((a, b) => a - b));
    for (const e of all) expect(Number.isNaN(Date.parse(e.at))).toBe(false);
  });

  it('filters by target, kind family, actor, time and count', async () => {
    // A job that ends before its agent's first report is never seen running.
    const hello = (await events({ target: 'workload/hello' })).map((e) => e.kind).filter((k) => k !== 'workload.running');
    expect(hello).toEqual(['workload.submitted', 'workload.admitted', 'workload.succeeded']);
    const family = await events({ kind: 'service.' });
    expect(new Set(family.map((e) => e.kind))).toEqual(new Set(['service.created', 'service.scaled']));
    expect((await events({ kind: 'team.created,node.joined' })).map((e) => e.kind).sort()).toEqual(['node.joined', 'team.created']);
    expect((await events({ actor: 'scheduler' })).every((e) => e.actor === 'scheduler')).toBe(true);
    expect(await events({ since: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
    // The fleet goes on (a replica starting, a late heartbeat), so later reads may hold newer events.
    const all = await events();
    const newest = await events({ limit: 2 });
    expect(newest).toHaveLength(2);
    expect(newest[0]!.id).toBeLessThan(newest[1]!.id);
    expect(newest[0]!.id).toBeGreaterThanOrEqual(all.at(-2)!.id);
    const after = await events({ after: all.at(-3)!.id });
    expect(after.slice(0, 2)).toEqual(all.slice(-2));
  });

  it('shows a member their team’s objects and the fleet’s nodes, not other teams’ work', async () => {
    const created = await admin.request<{ token: string }>('POST', '/v1/tokens', { body: { name: 'ml-member', role: 'member', team: 'ml' } });
    const member = new HttpClient({ baseUrl: server.url, token: created.token });
    const seen = (await member.request<{ items: EventView[] }>('GET', '/v1/events')).items.map((e) => `${e.targetKind}/${e.target}`);
    expect(seen).toContain('node/ev-node');
    expect(seen).toContain('team/ml');
    expect(seen).not.toContain('workload/hello');
    expect(seen).not.toContain('service/chat');
  });

  it('refuses bad filters with a 400 naming the field', async () => {
    for (const [query, field] of [[{ kind: 'Node Lost' }, 'kind'], [{ target: 'pod/x' }, 'target'], [{ since: 'yesterday-ish' }, 'since'], [{ limit: 0 }, 'limit']] as const) {
      const err = await admin.request('GET', '/v1/events', { query }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).status).toBe(400);
      expect((err as ClientError).message).toContain(field);
    }
  });

  it('records a node going silent and lost, by the system, and prints it through the CLI', async () => {
    await agent.kill('SIGKILL');
    await waitFor('the node lost event', async () => (await events({ kind: 'node.lost' })).length === 1, 20_000, 250);
    const node = await events({ target: 'node/ev-node', kind: 'node.' });
    const seen = node.map((e) => [e.kind, e.actor]);
    expect(seen[0]).toEqual(['node.joined', `node:${nodeId}`]);
    expect(seen.slice(-2)).toEqual([['node.suspect', 'system'], ['node.lost', 'system']]);
    // On a loaded machine a late heartbeat can make the node suspect before the kill: it is heard from again, and says so.
    const between = seen.slice(1, -2);
    expect(between).toEqual(between.flatMap((_, i) => (i % 2 === 0 ? [['node.suspect', 'system'], ['node.ready', `node:${nodeId}`]] : [])));
    const cli = await runCli(server, ['events', '--target', 'node/ev-node']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^TIME\s+ACTOR\s+KIND\s+TARGET\s+MESSAGE$/m);
    expect(cli.stdout).toMatch(/\ssystem\s+node\.lost\s+node\/ev-node\s+node ev-node is lost/);
  });

  it('records a lost node heard from again as ready, by the node', async () => {
    await agent.start();
    await waitFor('the node ready event', async () => (await events({ kind: 'node.ready' })).length > 0, 20_000, 250);
    const last = (await events({ target: 'node/ev-node', kind: 'node.' })).at(-1)!;
    expect([last.kind, last.actor, last.message]).toEqual(['node.ready', `node:${nodeId}`, 'node ev-node is ready again']);
  });
});
