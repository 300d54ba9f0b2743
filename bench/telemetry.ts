/**
 * bench:telemetry — what telemetry costs (issue 7).
 *
 * (1) Agent CPU per GPU sampled: two real agents with 64 simulated GPUs each run side by side for
 *     the same time against one server; one samples every 100 ms (and sends usage windows), the
 *     other's sampling is pushed out to once an hour. CPU from /proc; the difference divided by
 *     the GPU-samples taken is the cost per GPU per sample. The sampler, the DCGM gauges and the
 *     usage summaries are also timed in-process, with the bare sampler as baseline.
 * (2) Server cost of 1,000 agents reporting: 1,000 simulated agents (this process, plain HTTP)
 *     register 8 GPUs each and heartbeat every 3 s, as real agents do, against a real server on
 *     the embedded database; first heartbeats only (the baseline), then with telemetry: the latest
 *     sample of 8 GPUs on every heartbeat and 8 one-minute usage windows on every twentieth (the
 *     default 60 s windows at a 3 s heartbeat). Server CPU per heartbeat and heartbeat latency, on
 *     the embedded PGlite and on PostgreSQL (DATABASE_URL, else the local one; skipped without).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentProcess, ServerProcess, repoRoot } from '../test/support/fleet.js';
import { onScratchPostgres } from './scratch-postgres.js';
import { AgentClient } from '../src/client/agent-client.js';
import { createRegistry } from '../src/observe/metrics.js';
import { SimulatedSampler } from '../src/agent/gpu-telemetry.js';
import { DcgmMetrics } from '../src/agent/dcgm-metrics.js';
import { UsageSummarizer } from '../src/agent/usage-summaries.js';
import type { Gpu } from '../src/core/api-types.js';
import type { GpuStat, GpuUsageSummary } from '../src/core/agent-protocol.js';
import { percentile, report, type BenchResult } from './report.js';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 1000);
const HEARTBEAT_MS = 3000;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 30_000);
const AGENT_CPU_MS = Number(process.env.BENCH_AGENT_CPU_MS ?? 20_000);
const TICKS_PER_S = 100;

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gpus = (n: number, node: string): Gpu[] => Array.from({ length: n }, (_, i) => ({ index: i, uuid: `GPU-${node}-${i}`, model: 'H100-80GB', memoryMiB: 81_920 }));

function inProcessAgentCost(gpuCount: number): BenchResult[] {
  const list = gpus(gpuCount, 'bench');
  const holderOf = () => null;
  const sampler = new SimulatedSampler({ gpus: list, holderOf });
  const dcgm = new DcgmMetrics({ registry: createRegistry('bench'), hostname: 'bench', gpus: list, holderOf });
  const usage = new UsageSummarizer({ windowMs: 60_000 });
  const rounds = 2000;
  const time = (work: (t: number) => void) => {
    for (let i = 0; i < 200; i++) work(i);
    const before = process.cpuUsage();
    for (let i = 0; i < rounds; i++) work(i * 5000);
    const used = process.cpuUsage(before);
    return ((used.user + used.system) / rounds / gpuCount);
  };
  const bare = time(() => sampler.sampleNow());
  const full = time((t) => {
    const samples = sampler.sampleNow();
    dcgm.update(samples);
    usage.add(samples, () => null, t);
    usage.acknowledge(usage.pending().length);
  });
  return [
    { scenario: `in-process, ${gpuCount} GPUs`, metric: 'agent_cpu_per_gpu_sample', value: full, unit: 'µs', baseline: bare, baselineName: 'the simulated sampler alone' },
  ];
}

async function agentCost(server: ServerProcess): Promise<BenchResult[]> {
  const fast = await new AgentProcess(server, 'bench-sampling', '64xH100-80GB', {}, ['--telemetry-interval-ms', '100', '--usage-window-ms', '1000']).start();
  const slow = await new AgentProcess(server, 'bench-quiet', '64xH100-80GB', {}, ['--telemetry-interval-ms', '3600000']).start();
  try {
    await sleep(2000);
    const before = [cpuSeconds(fast.pid!), cpuSeconds(slow.pid!)];
    const started = performance.now();
    await sleep(AGENT_CPU_MS);
    const seconds = (performance.now() - started) / 1000;
    const used = [cpuSeconds(fast.pid!) - before[0]!, cpuSeconds(slow.pid!) - before[1]!];
    const gpuSamples = 64 * (seconds / 0.1);
    return [
      { scenario: 'real agent, 64 GPUs, 10 samples/s', metric: 'agent_cpu_percent', value: (used[0]! / seconds) * 100, unit: '% of a core', baseline: (used[1]! / seconds) * 100, baselineName: 'the same agent sampling once an hour' },
      { scenario: 'real agent, 64 GPUs, 10 samples/s', metric: 'agent_cpu_per_gpu_sample', value: ((used[0]! - used[1]!) / gpuSamples) * 1e6, unit: 'µs', baseline: null },
    ];
  } finally {
    await fast.stop();
    await slow.stop();
  }
}

interface Phase {
  telemetry: boolean;
  latencies: number[];
  heartbeats: number;
  failures: number;
  firstError?: string;
}

async function fleetCost(server: ServerProcess, store: string): Promise<BenchResult[]> {
  const clients: AgentClient[] = [];
  for (let i = 0; i < AGENTS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, AGENTS - i) }, async (_, j) => {
        const name = `sim-${i + j}`;
        const client = new AgentClient({ serverUrl: server.url });
        const answer = await client.register({ joinToken: server.joinToken, name, gpus: gpus(8, name), simulated: true, labels: {}, cpus: 64, memoryMiB: 512_000, agentVersion: 'bench' });
        client.setCredential(answer.credential);
        return client;
      }),
    );
    clients.push(...batch);
  }
  let phase: Phase = { telemetry: false, latencies: [], heartbeats: 0, failures: 0 };
  let stopping = false;
  const loops = clients.map(async (client, a) => {
    await sleep((a / AGENTS) * HEARTBEAT_MS);
    for (let beat = 0; !stopping; beat++) {
      const current = phase;
      const now = Date.now();
      const body: { replicas: []; gpuStats?: GpuStat[]; usage?: GpuUsageSummary[] } = { replicas: [] };
      if (current.telemetry) {
        body.gpuStats = Array.from({ length: 8 }, (_, g) => ({ gpuIndex: g, at: now, utilPct: 87, activity: 0.87, memoryUsedMiB: 50_000, memoryTotalMiB: 81_920, powerW: 610, tempC: 66 }));
        if ((beat + a) % 20 === 0)
          body.usage = Array.from({ length: 8 }, (_, g) => ({ gpuIndex: g, replicaId: null, from: now - 60_000, to: now, samples: 12, activity: 0.87, memoryUsedMiB: 50_000, memoryUsedMaxMiB: 51_000, used: true }));
      }
      const started = performance.now();
      try {
        await client.heartbeat(body);
        current.latencies.push(performance.now() - started);
        current.heartbeats++;
      } catch (err) {
        current.failures++;
        current.firstError ??= (err as Error).message;
      }
      await sleep(HEARTBEAT_MS);
    }
  });

  const measurePhase = async (telemetry: boolean) => {
    phase = { telemetry, latencies: [], heartbeats: 0, failures: 0 };
    await sleep(HEARTBEAT_MS * 2);
    const measured: Phase = { telemetry, latencies: [], heartbeats: 0, failures: 0 };
    phase = measured;
    const cpuBefore = cpuSeconds(server.pid!);
    const started = performance.now();
    await sleep(PHASE_MS);
    const cpu = cpuSeconds(server.pid!) - cpuBefore;
    const seconds = (performance.now() - started) / 1000;
    return { cpu, seconds, ...measured };
  };

  try {
    const base = await measurePhase(false);
    const tele = await measurePhase(true);
    stopping = true;
    await Promise.all(loops);
    const scenario = `${store}: ${AGENTS} agents × 8 GPUs, heartbeat 3 s`;
    const name = 'the same agents sending heartbeats only';
    const perBeat = (p: typeof base) => (p.cpu / Math.max(1, p.heartbeats)) * 1000;
    console.log(`${store}: baseline ${base.heartbeats} heartbeats (${base.failures} failed${base.firstError ? `, e.g. ${base.firstError}` : ''}) in ${base.seconds.toFixed(1)} s; telemetry ${tele.heartbeats} (${tele.failures} failed${tele.firstError ? `, e.g. ${tele.firstError}` : ''})`);
    return [
      { scenario, metric: 'heartbeats_per_s', value: tele.heartbeats / tele.seconds, unit: '/s', baseline: base.heartbeats / base.seconds, baselineName: name },
      { scenario, metric: 'server_cpu_percent', value: (tele.cpu / tele.seconds) * 100, unit: '% of a core', baseline: (base.cpu / base.seconds) * 100, baselineName: name },
      { scenario, metric: 'server_cpu_per_heartbeat', value: perBeat(tele), unit: 'ms', baseline: perBeat(base), baselineName: name },
      { scenario, metric: 'heartbeat_p50', value: percentile(tele.latencies, 50), unit: 'ms', baseline: percentile(base.latencies, 50), baselineName: name },
      { scenario, metric: 'heartbeat_p99', value: percentile(tele.latencies, 99), unit: 'ms', baseline: percentile(base.latencies, 99), baselineName: name },
      { scenario, metric: 'failed_heartbeats', value: tele.failures, unit: 'count', baseline: base.failures, baselineName: name },
    ];
  } finally {
    stopping = true;
    await Promise.all(loops);
  }
}

async function main(): Promise<void> {
  console.log(`bench:telemetry — agent CPU per GPU sampled; server cost of ${AGENTS} simulated agents reporting (${PHASE_MS / 1000} s per phase). Simulated GPUs; no GPU needed.`);
  const results: BenchResult[] = [...inProcessAgentCost(8), ...inProcessAgentCost(64)];
  // Nodes registered early stay ready while the rest register.
  const health = { suspectAfterMs: 60_000, lostAfterMs: 120_000 };
  const server = await new ServerProcess(health).start();
  try {
    results.push(...(await agentCost(server)));
    results.push(...(await fleetCost(server, 'pglite')));
  } finally {
    await server.stop();
  }
  const onPostgres = await onScratchPostgres(async (databaseUrl) => {
    const pgServer = await new ServerProcess({ ...health, databaseUrl }).start();
    try {
      return await fleetCost(pgServer, 'postgres');
    } finally {
      await pgServer.stop();
    }
  });
  results.push(...(onPostgres ?? []));
  const file = report('telemetry', results, join(repoRoot, 'bench', 'results'));
  console.log(`\nresults written to ${file}`);
}

await main();
