import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, ServerProcess, submit, waitFor, waitForState } from '../support/fleet.js';
import { serverTargets } from '../support/targets.js';
import { PrometheusProcess, type PromSample } from '../support/prometheus.js';
import type { HttpClient } from '../../src/client/http.js';

/** Debian's Prometheus scrapes a real server and an agent on simulated GPUs; PromQL sees the fleet. */
for (const target of serverTargets())
describe(`a real Prometheus scraping the server and an agent (${target.name})`, () => {
  let drop: () => Promise<void>;
  let server: ServerProcess;
  let agent: AgentProcess;
  let prometheus: PrometheusProcess;
  let client: HttpClient;

  beforeAll(async () => {
    const db = await target.prepare();
    drop = db.drop;
    server = await new ServerProcess({ databaseUrl: db.databaseUrl }).start();
    agent = await new AgentProcess(server, 'prom-node', '4xH100-80GB', {}, ['--telemetry-interval-ms', '500']).start();
    client = server.client();
    const agentMetrics = await waitFor('the agent to print its metrics URL', async () => /metrics at/.test(agent.output()) && agent.metricsUrl());
    await submit(client, { name: 'busy', gpus: 2, command: ['sleep', '300'], gracePeriodSeconds: 1, env: { GPUFLEET_SIM_GPU_UTIL: '0.7' } });
    await waitForState(client, 'busy', ['running']);
    // Only 2 of the 4 GPUs are free: a 4-GPU job waits for capacity.
    await submit(client, { name: 'waits', gpus: 4, command: ['true'] });
    await waitFor('a reason for the waiting job', async () => (await client.request<{ reason: string | null }>('GET', '/v1/workloads/waits')).reason !== null);
    prometheus = await new PrometheusProcess([
      { job: 'gpufleet-server', url: `${server.url}/metrics` },
      { job: 'gpufleet-agent', url: agentMetrics },
    ]).start();
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await agent?.stop();
    await server?.stop();
    await drop?.();
  });

  const one = (samples: PromSample[]) => (samples.length === 1 ? samples[0]!.value : NaN);

  it('scrapes both targets', async () => {
    await prometheus.until('up', (s) => s.length === 2 && s.every((x) => x.value === 1));
    const health = await prometheus.targetHealth();
    expect(health).toEqual({ 'gpufleet-server': 'up', 'gpufleet-agent': 'up' });
  });

  it('returns the GPU series of the running job under DCGM names, with its workload, team and queue', async () => {
    const busy = await prometheus.until('DCGM_FI_DEV_GPU_UTIL{workload="busy"}', (s) => s.length === 2);
    for (const s of busy) {
      expect(s.metric).toMatchObject({ job: 'gpufleet-agent', team: 'default', queue: 'default', modelName: 'H100-80GB', Hostname: 'prom-node' });
      expect(s.value).toBeGreaterThan(60);
      expect(s.value).toBeLessThan(80);
    }
    // The two GPUs nobody holds are idle: no workload label, no activity.
    const idle = await prometheus.until('DCGM_FI_PROF_GR_ENGINE_ACTIVE{workload=""}', (s) => s.length === 2);
    expect(idle.map((s) => s.value)).toEqual([0, 0]);
    const memory = await prometheus.until('sum(DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)', (s) => s.length === 1);
    expect(one(memory)).toBe(4 * 80 * 1024);
  });

  it('returns the queue series: what waits and why, how long admitted work waited', async () => {
    const pending = await prometheus.until('gpufleet_queue_pending_workloads{queue="default"}', (s) => s.some((x) => x.value > 0));
    expect(pending.filter((s) => s.value > 0).map((s) => [s.metric.reason, s.value])).toEqual([['capacity', 1]]);
    const waited = await prometheus.until('gpufleet_queue_wait_seconds_count{queue="default"}', (s) => s.length === 1);
    expect(one(waited)).toBe(1);
    const placements = await prometheus.query('gpufleet_scheduler_placements_total');
    expect(one(placements)).toBe(1);
    const cycles = await prometheus.query('gpufleet_scheduler_cycle_duration_seconds_count');
    expect(one(cycles)).toBeGreaterThan(0);
  });

  it('returns the fleet series: nodes by state, GPUs allocated and idle by model', async () => {
    expect(one(await prometheus.until('gpufleet_nodes{state="ready"}', (s) => s.length === 1))).toBe(1);
    expect(one(await prometheus.until('gpufleet_gpus_allocated{model="H100-80GB"}', (s) => s.length === 1))).toBe(2);
    expect(one(await prometheus.until('gpufleet_gpus_idle{model="H100-80GB"}', (s) => s.length === 1))).toBe(2);
  });

  it('returns the API request series by route', async () => {
    const submits = await prometheus.until('gpufleet_http_request_duration_seconds_count{method="POST",route="/v1/workloads"}', (s) => s.length > 0);
    expect(submits.reduce((n, s) => n + s.value, 0)).toBe(2);
  });
});
