import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, GatewayProcess, ServerProcess, repoRoot, waitFor } from '../support/fleet.js';
import type { HttpClient } from '../../src/client/http.js';
import type { RolloutStatus } from '../../src/client/api-client.js';
import type { Service } from '../../src/core/service-types.js';

const bin = join(repoRoot, 'bin', 'gpufleet.js');
const model = 'e2e-roll';

interface Outcome {
  version: string;
  status: number;
  /** A 200 stream that ended with [DONE]. */
  complete: boolean;
  /** The start of the body when it did not. */
  detail?: string;
}

/** Real processes: server, agent with sim-model replicas, gateway under steady streaming load while versions roll out. */
describe('rollouts of a service under load', () => {
  let server: ServerProcess;
  let agent: AgentProcess;
  let gateway: GatewayProcess;
  let admin: HttpClient;
  let key = '';
  let outcomes: Outcome[] = [];
  let stop = false;
  let loops: Promise<void>[] = [];

  const spec = (version: string, flags: string[] = [], rollout: Record<string, unknown> = {}) => ({
    model,
    version,
    replicas: 2,
    gpus: 1,
    command: [process.execPath, bin, 'sim-model', '--model', model, '--decode-ms-per-token', '10', '--log-level', 'warn', ...flags],
    gracePeriodSeconds: 10,
    rollout: { stepSeconds: 4, minRequests: 20, ...rollout },
  });
  const apply = (version: string, flags?: string[], rollout?: Record<string, unknown>) => admin.request('PUT', '/v1/services/roll', { body: spec(version, flags, rollout) });
  const service = () => admin.request<Service>('GET', '/v1/services/roll');
  const rollout = () => admin.request<RolloutStatus>('GET', '/v1/services/roll/rollout');
  const finished = async (version: string) => {
    const r = await rollout();
    return r.rollout?.canaryVersion === version && r.rollout.phase !== 'progressing' ? r : undefined;
  };
  /** Only replicas of `version` left, all ready and none draining. */
  const settledOn = async (version: string) => {
    const s = await service();
    return s.replicaStatus.length === 2 && s.replicaStatus.every((r) => r.version === version && r.ready && !r.draining);
  };

  const stream = async (): Promise<Outcome> => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'roll it' }], max_tokens: 20, stream: true }),
    }).catch(() => undefined);
    if (!res) return { version: '?', status: 0, complete: false };
    const text = await res.text().catch(() => '');
    const version = (await service().catch(() => undefined))?.version ?? '?';
    const complete = res.status === 200 && text.includes('data: [DONE]');
    return { version, status: res.status, complete, ...(complete ? {} : { detail: text.slice(0, 160) }) };
  };

  beforeAll(async () => {
    server = await new ServerProcess().start();
    agent = await new AgentProcess(server, 'gpu-node-1', '8xH100-80GB').start();
    admin = server.client();
    key = (await admin.request<{ token: string }>('POST', '/v1/tokens', { body: { name: 'roll-app', role: 'member', team: 'default' } })).token;
    gateway = await new GatewayProcess(server).start();
    await apply('v1');
    await waitFor('two ready v1 replicas', () => settledOn('v1'), 120_000, 250);
    // The gateway reads the services every second: start the load once it routes to both.
    await waitFor('the gateway to route to both', async () => /gpufleet_gateway_replicas\{model="e2e-roll",version="v1"[^}]*\} 2/.test(await (await fetch(`${gateway.url}/metrics`)).text()), 30_000, 100);
    stop = false;
    loops = Array.from({ length: 6 }, () =>
      (async () => {
        while (!stop) outcomes.push(await stream());
      })(),
    );
    await waitFor('load to be flowing', async () => outcomes.filter((o) => o.complete).length >= 30, 60_000);
  }, 240_000);
  afterAll(async () => {
    stop = true;
    await Promise.all(loops);
    await gateway?.stop();
    await agent?.stop();
    await server?.stop();
  });

  it('rolls back a canary that answers errors, and the stable version keeps serving', async () => {
    await apply('v2', ['--error-rate', '0.5']);
    expect((await rollout()).rollout).toMatchObject({ phase: 'progressing', stableVersion: 'v1', canaryVersion: 'v2', weight: 10 });
    const done = await waitFor('the bad canary to be rolled back', () => finished('v2'), 180_000, 250);
    expect(done.rollout).toMatchObject({ phase: 'rolled-back', message: expect.stringMatching(/v2 rolled back: error rate/) });
    console.log(`rollout e2e: ${done.rollout?.message} (printed, not asserted)`);
    expect(done.version).toBe('v1');
    expect(done.weights).toEqual({ v1: 100 });
    await waitFor('only v1 replicas left', () => settledOn('v1'), 120_000, 250);
  }, 400_000);

  it('rolls back a canary whose TTFT p95 is too slow', async () => {
    await apply('v3', ['--ttft-overhead-ms', '1000']);
    const done = await waitFor('the slow canary to be rolled back', () => finished('v3'), 180_000, 250);
    expect(done.rollout).toMatchObject({ phase: 'rolled-back', message: expect.stringMatching(/v3 rolled back: TTFT p95/) });
    console.log(`rollout e2e: ${done.rollout?.message} (printed, not asserted)`);
    await waitFor('only v1 replicas left', () => settledOn('v1'), 120_000, 250);
  }, 400_000);

  it('rolls back a canary whose inter-token latency p95 is too slow', async () => {
    // Six times the stable version's decode time per token: its first token comes about as fast, the stream does not.
    await apply('v3b', ['--decode-ms-per-token', '60']);
    const done = await waitFor('the slow-streaming canary to be rolled back', () => finished('v3b'), 180_000, 250);
    expect(done.rollout).toMatchObject({ phase: 'rolled-back', message: expect.stringMatching(/v3b rolled back: inter-token latency p95/) });
    console.log(`rollout e2e: ${done.rollout?.message} (printed, not asserted)`);
    await waitFor('only v1 replicas left', () => settledOn('v1'), 120_000, 250);
  }, 400_000);

  it('rolls back a canary whose replicas keep crashing before they are ready', async () => {
    await apply('v3c', ['--crash-after-ms', '100']);
    const done = await waitFor('the crashing canary to be rolled back', () => finished('v3c'), 180_000, 250);
    expect(done.rollout).toMatchObject({ phase: 'rolled-back', message: expect.stringMatching(/v3c rolled back: a replica ended 3 times in a row/) });
    await waitFor('only v1 replicas left', () => settledOn('v1'), 120_000, 250);
  }, 400_000);

  it('promotes a healthy canary through its steps, draining the old replicas without breaking a stream', async () => {
    const before = outcomes.length;
    const weights: number[] = [];
    const drained = new Set<string>();
    await apply('v4');
    const done = await waitFor('the good canary to be promoted', async () => {
      for (const slot of (await service()).replicaStatus) if (slot.draining) drained.add(`${slot.workload} ${slot.version}`);
      const r = await rollout();
      if (r.rollout?.phase === 'progressing' && weights.at(-1) !== r.rollout.weight) weights.push(r.rollout.weight);
      return r.rollout?.canaryVersion === 'v4' && r.rollout.phase !== 'progressing' ? r : undefined;
    }, 240_000, 100);
    expect(done.rollout).toMatchObject({ phase: 'promoted', message: expect.stringMatching(/v4 promoted/) });
    expect(weights).toEqual([10, 50, 100]);
    expect(done.weights).toEqual({ v4: 100 });
    await waitFor('only v4 replicas left', async () => {
      for (const slot of (await service()).replicaStatus) if (slot.draining) drained.add(`${slot.workload} ${slot.version}`);
      return settledOn('v4');
    }, 120_000, 250);
    console.log(`rollout e2e: promoted with ${JSON.stringify(done.rollout?.canary)} against ${JSON.stringify(done.rollout?.stable ?? done.rollout?.stableReference)}; seen draining: ${[...drained].join(', ')} (printed, not asserted)`);
    // The old version's replicas left through draining, not by being stopped with requests in flight.
    expect([...drained].some((d) => d.endsWith(' v1'))).toBe(true);
    const during = outcomes.slice(before);
    expect(during.length).toBeGreaterThan(50);
    const failed = during.filter((o) => !o.complete);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
  }, 400_000);

  it('blue-green: a full set of new replicas, then all traffic at once, with no failed request', async () => {
    const before = outcomes.length;
    await apply('v5', [], { strategy: 'blue-green' });
    const first = await rollout();
    expect(first.rollout).toMatchObject({ strategy: 'blue-green', weight: 0, step: -1 });
    const done = await waitFor('blue-green to be promoted', () => finished('v5'), 240_000, 250);
    expect(done.rollout).toMatchObject({ phase: 'promoted' });
    await waitFor('only v5 replicas left', () => settledOn('v5'), 120_000, 250);
    const failed = outcomes.slice(before).filter((o) => !o.complete);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
  }, 400_000);

  it('shows the rollout with `gpufleet rollout status`, and refuses a promote when none is in progress', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, GPUFLEET_HOME: server.home, GPUFLEET_URL: server.url, GPUFLEET_TOKEN: server.adminToken }, encoding: 'utf8', timeout: 60_000 });
    const status = cli('rollout', 'status', 'roll');
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/roll\s+promoted\s+v\d → v5 \(blue-green\)\s+1\/1\s+v5=100%/);
    const json = JSON.parse(cli('rollout', 'status', 'roll', '-o', 'json').stdout) as RolloutStatus;
    expect(json.rollout).toMatchObject({ phase: 'promoted', canaryVersion: 'v5' });
    const promote = cli('rollout', 'promote', 'roll');
    expect(promote.status).not.toBe(0);
    expect(promote.stderr).toMatch(/rollout: none in progress/);
  });
});
