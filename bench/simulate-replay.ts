/**
 * bench:simulate-replay — queueing replay of the whole Philly trace on its 2,816 GPUs (352 nodes ×
 * 8), arrivals compressed to an offered load of about 90 %, one replay per policy: FIFO (the
 * baseline), SJF with known runtimes, Tiresias-style discretized LAS (preemptive, restart from
 * scratch), and gpufleet-default (the production schedule(), once with the server's default settings
 * and once with bench/simulate/philly-scheduler.yaml; preempted jobs restart from scratch, or from
 * a checkpoint every LAS_CHECKPOINT_S, for every policy).
 * Target: gpufleet-default beats FIFO and LAS on mean JCT without any queue's p99 wait above FIFO's.
 * Assumption: every job declares a time limit (DECLARED_LIMITS, below), which only gpufleet-default reads.
 * TRACES_DIR overrides where the traces are (default ../shared/data/traces); REPLAY_LIMIT=N
 * replays only the first N jobs; REPLAY_POLICIES=fifo,sjf picks policies; TARGET_LOAD (default 0.9);
 * CYCLE_S (below). Run it as `npm run bench:simulate-replay`: node with a 64 MiB young generation,
 * which the replay's short-lived snapshots need (with the default, about a quarter of it is GC).
 */
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseSchedulerSettings } from '../src/scheduler/settings.js';
import { report, type BenchResult } from './report.js';
import { loadPhilly, formatIssue } from '../src/simulate/traces/index.js';
import {
  PHILLY_GPUS_PER_NODE,
  PHILLY_GPU_MODEL,
  PHILLY_NODES,
  REPLAY_POLICIES,
  buildCluster,
  prepareJobs,
  replayPrepared,
  parseDeclaredLimits,
  type ReplayPolicyName,
  type ReplayResult,
} from '../src/simulate/replay/index.js';

const repoRoot = resolve(import.meta.dirname, '..');
const traceDir = join(process.env['TRACES_DIR'] ?? join(repoRoot, '..', 'shared', 'data', 'traces'), 'philly');
const limit = process.env['REPLAY_LIMIT'] ? Number(process.env['REPLAY_LIMIT']) : null;
const targetLoad = process.env['TARGET_LOAD'] ? Number(process.env['TARGET_LOAD']) : 0.9;
const policies = (process.env['REPLAY_POLICIES']?.split(',') ?? REPLAY_POLICIES) as ReplayPolicyName[];
const LAS_THRESHOLDS = [3600, 36000]; // GPU-seconds: 3 levels split at 1 and 10 GPU-hours
/** LAS_CHECKPOINT_S: a preempted job keeps its work up to its last checkpoint; default none (restart from scratch). */
const lasCheckpoint = process.env['LAS_CHECKPOINT_S'] ? Number(process.env['LAS_CHECKPOINT_S']) : null;
/**
 * DECLARED_LIMITS=FACTOR[:ROUND_S] (default 1:3600; `none` for none): Philly's jobs give no time
 * limit, so each is assumed to declare its runtime × FACTOR, rounded up to whole ROUND_S seconds
 * (by default its runtime rounded up to a whole hour). Only gpufleet-default reads limits: they let
 * it reserve nodes for blocked work and backfill around them. An assumption, like SJF's known runtimes.
 */
const declaredLimits = (() => {
  try {
    return parseDeclaredLimits(process.env['DECLARED_LIMITS'] ?? '1:3600');
  } catch (err) {
    throw new Error(`DECLARED_LIMITS: ${(err as Error).message}`);
  }
})();

/**
 * CYCLE_S: gpufleet-default plans at most once per this many simulated seconds, on that grid
 * (default 60; 0 plans at every event time with a change, about 10× slower).
 */
const cycleSeconds = process.env['CYCLE_S'] !== undefined && process.env['CYCLE_S'] !== '' ? Number(process.env['CYCLE_S']) : 60;
/**
 * SCHEDULER_CONFIGS: gpufleet-default runs once per scheduler settings file, comma-separated, `-`
 * for the server's defaults (default: `-` and bench/simulate/philly-scheduler.yaml).
 */
const configFiles = (process.env['SCHEDULER_CONFIGS'] ?? `-,${join(repoRoot, 'bench', 'simulate', 'philly-scheduler.yaml')}`).split(',');
const variants = configFiles.map((file) => ({
  label: file === '-' ? 'gpufleet-default' : `gpufleet-default[${basename(file, '.yaml')}]`,
  settings: parseSchedulerSettings(file === '-' ? null : parse(readFileSync(file, 'utf8')), file),
}));

const load = await loadPhilly(traceDir, { badRows: 'skip' });
if (!load.queues) throw new Error('Philly gave no queues');
console.log(`Philly: ${load.jobs.length} jobs, ${load.issues.length} bad rows skipped (jobs of VCs without a size), e.g.`);
for (const issue of load.issues.slice(0, 3)) console.log(`  ${formatIssue(issue)}`);
const jobs = limit === null ? load.jobs : load.jobs.slice(0, limit);
const cluster = buildCluster({ nodes: PHILLY_NODES, gpusPerNode: PHILLY_GPUS_PER_NODE, gpuModel: PHILLY_GPU_MODEL, queues: load.queues });
const prep = prepareJobs(jobs, cluster, { oversize: 'drop', targetLoad, declaredLimits });
console.log(
  `${limit === null ? 'whole trace' : `first ${limit} jobs`}: ${prep.inputs.length} replayed; ` +
    `${prep.oversize} jobs larger than one node (${PHILLY_GPUS_PER_NODE} GPUs) dropped, counted; ${prep.zeroGpu} without GPUs dropped\n` +
    `${cluster.capacity} GPUs (${PHILLY_NODES} × ${PHILLY_GPUS_PER_NODE}); arrivals × ${prep.factor.toFixed(4)} → offered load ${(prep.offeredLoad * 100).toFixed(1)} %\n` +
    `assumed time limits (gpufleet-default only; the trace has none): ${declaredLimits ? `each job's runtime × ${declaredLimits.factor}, rounded up to whole ${declaredLimits.roundUpSeconds} s` : 'none'}\n`,
);

const runs: Array<ReplayResult & { label: string }> = [];
for (const policy of policies) {
  for (const variant of policy === 'gpufleet-default' ? variants : [{ label: policy, settings: parseSchedulerSettings(null) }]) {
    const { scheduler, fairShareHalfLifeMs } = variant.settings;
    const r = replayPrepared(prep.inputs, cluster, { policy, lasThresholds: LAS_THRESHOLDS, checkpointInterval: lasCheckpoint, buckets: 20, cycleSeconds, scheduler, fairShareHalfLifeMs }, prep);
    runs.push({ ...r, label: variant.label });
    console.log(`  ${variant.label}: ${r.seconds.toFixed(1)} s, ${r.sim.schedulerCalls} ${policy === 'gpufleet-default' ? 'schedule()' : 'scheduleFifo'} calls`);
  }
}

const h = (s: number) => (s / 3600).toFixed(2);
const table = [['POLICY', 'JCT mean h', 'p50', 'p95', 'p99', 'WAIT mean h', 'p50', 'p95', 'p99', 'makespan d', 'alloc %', 'preempt', 'lost GPU-h', 'Jain', 'p5', 'replay s']];
for (const r of runs) {
  const m = r.metrics;
  table.push([
    r.label,
    h(m.jct.mean), h(m.jct.p50), h(m.jct.p95), h(m.jct.p99),
    h(m.wait.mean), h(m.wait.p50), h(m.wait.p95), h(m.wait.p99),
    (m.makespan / 86400).toFixed(1), (m.meanAllocation * 100).toFixed(1), String(m.preemptions), (m.lostGpuSeconds / 3600).toFixed(0), m.fairness.jain.toFixed(3), m.fairness.jainP5.toFixed(3), r.seconds.toFixed(1),
  ]);
}
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
console.log(`\n${table.map((row) => row.map((c, i) => c.padStart(widths[i]!)).join('  ')).join('\n')}\n`);

console.log(`Tiresias-LAS: thresholds ${LAS_THRESHOLDS.map((t) => t / 3600).join(', ')} GPU-h, preemptive, ${lasCheckpoint ? `checkpoint every ${lasCheckpoint} s` : 'restart from scratch'}`);
console.log('GPU allocation over time (% of capacity, 20 equal slices of each makespan):');
for (const r of runs) console.log(`  ${r.label.padEnd(40)} ${r.metrics.allocationOverTime.map((a) => Math.round(a * 100).toString().padStart(3)).join('')}`);
console.log('');
const q0 = runs[0]!;
console.log(`per queue (${q0.policy}): VC  jobs  share %  entitled %  JCT mean h  wait mean h`);
for (const [q, m] of Object.entries(q0.metrics.perQueue)) {
  console.log(`  ${q}  ${m.jobs}  ${(m.share * 100).toFixed(1)}  ${(m.entitled * 100).toFixed(1)}  ${h(m.jct.mean)}  ${h(m.wait.mean)}`);
}
console.log('');

const fifo = runs.find((r) => r.policy === 'fifo') ?? null;
const las = runs.find((r) => r.policy === 'tiresias-las') ?? null;
for (const mine of runs.filter((r) => r.policy === 'gpufleet-default')) {
  if (!fifo) break;
  console.log(`p99 wait per queue, ${mine.label} vs FIFO (h): VC  gpufleet  FIFO`);
  const over: string[] = [];
  for (const [q, m] of Object.entries(mine.metrics.perQueue)) {
    const f = fifo.metrics.perQueue[q]!;
    if (m.wait.p99 > f.wait.p99) over.push(q);
    console.log(`  ${q}  ${h(m.wait.p99)}  ${h(f.wait.p99)}${m.wait.p99 > f.wait.p99 ? '  (above FIFO)' : ''}`);
  }
  const beats = (other: ReplayResult | null) => (other ? mine.metrics.jct.mean < other.metrics.jct.mean : null);
  console.log(
    `target (${mine.label}): mean JCT below FIFO's: ${beats(fifo)}; below LAS's: ${beats(las)}; no queue's p99 wait above FIFO's: ${over.length === 0}${over.length ? ` (above: ${over.join(', ')})` : ''}\n`,
  );
}

const scenario = (p: string) => `philly${limit === null ? '' : `-first-${limit}`}-load-${Math.round(targetLoad * 100)}/${p}`;
const results: BenchResult[] = [];
for (const r of runs) {
  const m = r.metrics;
  const base = (pick: (x: ReplayResult) => number) => (fifo ? { baseline: pick(fifo), baselineName: 'FIFO (production scheduleFifo)' } : { baseline: null });
  results.push(
    { scenario: scenario(r.label), metric: 'jct_mean_s', value: m.jct.mean, unit: 's', ...base((x) => x.metrics.jct.mean) },
    { scenario: scenario(r.label), metric: 'jct_p99_s', value: m.jct.p99, unit: 's', ...base((x) => x.metrics.jct.p99) },
    { scenario: scenario(r.label), metric: 'wait_mean_s', value: m.wait.mean, unit: 's', ...base((x) => x.metrics.wait.mean) },
    { scenario: scenario(r.label), metric: 'wait_p99_s', value: m.wait.p99, unit: 's', ...base((x) => x.metrics.wait.p99) },
    { scenario: scenario(r.label), metric: 'jain_index', value: m.fairness.jain, unit: '', ...base((x) => x.metrics.fairness.jain) },
    { scenario: scenario(r.label), metric: 'jain_index_p5', value: m.fairness.jainP5, unit: '', ...base((x) => x.metrics.fairness.jainP5) },
    { scenario: scenario(r.label), metric: 'replay_seconds', value: r.seconds, unit: 's', baseline: 60, baselineName: 'target: under 60 s per replay' },
  );
}
const file = report('simulate-replay', results, join(repoRoot, 'bench', 'results'));
console.log(`\nwrote ${file}`);
