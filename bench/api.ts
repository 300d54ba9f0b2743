/**
 * bench:api — job submissions per second and submit→running latency, against a real server and
 * agents with simulated GPUs, on the embedded PGlite and on PostgreSQL. Baselines from the same run:
 * the server's own /healthz rate at the same concurrency (the HTTP ceiling), and spawning the same
 * command directly (the floor no scheduler can beat).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { AgentProcess, ServerProcess, repoRoot, waitFor } from '../test/support/fleet.js';
import { onScratchPostgres } from './scratch-postgres.js';
import type { HttpClient } from '../src/client/http.js';
import type { Workload } from '../src/core/api-types.js';
import { percentile, report, type BenchResult } from './report.js';

const SUBMITS = Number(process.env.BENCH_SUBMITS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 100);
const COMMAND = ['sleep', '0.3'];

async function rate(total: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await call(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

async function directSpawnMs(): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(COMMAND[0]!, COMMAND.slice(1), { stdio: 'ignore', detached: true });
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  return performance.now() - started;
}

async function measure(scenario: string, databaseUrl: string | undefined): Promise<BenchResult[]> {
  const server = await new ServerProcess({ databaseUrl }).start();
  const agents = [await new AgentProcess(server, 'bench-a', '8xH100-80GB').start(), await new AgentProcess(server, 'bench-b', '8xH100-80GB').start()];
  const admin: HttpClient = server.client();
  try {
    // Submissions go to a queue with a zero GPU limit, so they stay pending and only the submit path is measured.
    await admin.request('PUT', '/v1/teams/bench', { body: {} });
    await admin.request('PUT', '/v1/queues/held', { body: { team: 'bench', quotas: [{ gpuModel: '*', guaranteed: 0, limit: 0 }] } });
    await admin.request('PUT', '/v1/queues/open', { body: { team: 'bench', quotas: [] } });
    // Latency first, one job at a time on the idle fleet (nothing else queued), by the server's own clock.
    const latencies: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const job = await admin.request<Workload>('POST', '/v1/workloads', { body: { name: `lat-${i}`, team: 'bench', queue: 'open', gpus: 1, command: COMMAND } });
      const running = await waitFor(`lat-${i} to start`, async () => {
        const w = await admin.request<Workload>('GET', `/v1/workloads/${job.id}`);
        if (w.startedAt) return w;
        if (w.finishedAt) throw new Error(`lat-${i} finished without starting: ${w.state} ${w.reason ?? ''}`);
        return undefined;
      }, 30_000, 5);
      latencies.push(Date.parse(running.startedAt!) - Date.parse(running.createdAt));
      direct.push(await directSpawnMs());
    }
    await rate(200, CONCURRENCY, () => admin.request('GET', '/healthz'));
    const healthRate = await rate(SUBMITS, CONCURRENCY, () => admin.request('GET', '/healthz'));
    const submitRate = await rate(SUBMITS, CONCURRENCY, (i) =>
      admin.request('POST', '/v1/workloads', { body: { name: `held-${i}`, team: 'bench', queue: 'held', gpus: 1, command: ['true'] } }),
    );

    return [
      { scenario, metric: 'submits_per_s', value: submitRate, unit: 'submits/s', baseline: healthRate, baselineName: 'GET /healthz at the same concurrency' },
      { scenario, metric: 'submit_to_running_p50_ms', value: percentile(latencies, 50), unit: 'ms', baseline: percentile(direct, 50), baselineName: 'direct spawn of the same command' },
      { scenario, metric: 'submit_to_running_p99_ms', value: percentile(latencies, 99), unit: 'ms', baseline: percentile(direct, 99), baselineName: 'direct spawn of the same command' },
    ];
  } finally {
    for (const a of agents) await a.stop();
    await server.stop();
  }
}

async function main(): Promise<void> {
  console.log(`bench:api — ${SUBMITS} submissions at concurrency ${CONCURRENCY}, ${LATENCY_SAMPLES} latency samples, 2 agents × 8 simulated H100 (no GPUs needed)`);
  const results: BenchResult[] = [];
  results.push(...(await measure('pglite', undefined)));
  results.push(...((await onScratchPostgres((url) => measure('postgres', url))) ?? []));
  const file = report('api', results, join(repoRoot, 'bench', 'results'));
  console.log(`\nresults written to ${file}`);
}

await main();
