/**
 * `gpufleet simulate`: what-if runs of the production scheduler on a trace, the entry point the
 * CLI's composition command calls. Reads the trace, the cluster, the queues and the scheduler
 * settings; runs every policy asked for on the same input; returns a report the CLI prints as a
 * table or JSON, and draws as SVG.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { QueueManifest } from '../core/manifest.js';
import { parseSchedulerSettings, type SchedulerSettings } from '../scheduler/settings.js';
import type { SnapshotQueue } from '../scheduler/types.js';
import { FILL_POLICIES, fillPodFromJob, gpufleetBinpack, gpufleetFragmentation, runFill, type PolicyFactory } from './fill/index.js';
import { parseClusterSpec, shrinkCluster } from './inputs/cluster-spec.js';
import { queuesOf } from './inputs/queues.js';
import { clusterOf, PHILLY_GPU_MODEL, prepareJobs, replayPrepared, rootQueues, REPLAY_POLICIES, type DeclaredLimits, type ReplayPolicyName } from './replay/index.js';
import { PHILLY_GPUS_PER_NODE } from './traces/philly.js';
import { formatIssue, loadGenericCsv, loadOpenB, loadPhilly, type BadRowPolicy, type ClusterSpec, type TraceLoad } from './traces/index.js';
import type { FillReport, ReplayReport } from './report/types.js';

export { fillSvg, fillTable, replaySvg, replayTable } from './report/format.js';
export type { FillReport, ReplayReport } from './report/types.js';

export const traceFormats = ['csv', 'philly', 'openb'] as const;
export type TraceFormat = (typeof traceFormats)[number];
export { REPLAY_POLICIES };
export { parseDeclaredLimits } from './replay/declared-limits.js';
export { OPENB_SEEDS } from './fill/index.js';
/** The fill's policies; `gpufleet-default` is the placement the scheduler settings make production's default. */
export const FILL_POLICY_NAMES: readonly string[] = ['gpufleet-default', ...Object.keys(FILL_POLICIES)];

export interface TraceArgs {
  format: TraceFormat;
  /** CSV file; Philly: the folder of philly.csv.gz and philly_vc.csv; OpenB: a pod list. */
  trace: string;
  /** OpenB: the node list, which becomes the cluster unless `cluster` is given. */
  nodeList?: string;
  badRows: BadRowPolicy;
}

export interface CommonArgs extends TraceArgs {
  /** A cluster spec YAML (nodes × GPUs by model, cores, memory, labels); else the trace's own. */
  clusterFile?: string;
  /** Keep this fraction of the nodes. */
  shrink?: number;
  /** The server's scheduler settings YAML. */
  schedulerConfigFile?: string;
}

export interface ReplayArgs extends CommonArgs {
  policies: ReplayPolicyName[];
  /** `kind: Queue` documents (the file `gpufleet apply -f` takes); else the trace's queues. */
  queues?: QueueManifest[];
  targetLoad?: number;
  checkpointSeconds?: number;
  /** gpufleet-default plans at most once per this many simulated seconds. */
  cycleSeconds?: number;
  oversize: 'drop' | 'cap';
  buckets: number;
  /** Jobs without a time limit declare their runtime × factor, rounded up (an assumption, for backfill). */
  declaredLimits?: DeclaredLimits | null;
}

export interface FillArgs extends CommonArgs {
  policies: string[];
  seeds: number[];
}

export class SimulateInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulateInputError';
  }
}

async function readYaml(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SimulateInputError(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
  try {
    return parse(text);
  } catch (err) {
    throw new SimulateInputError(`${file} is not YAML: ${(err as Error).message}`);
  }
}

async function loadTrace(args: TraceArgs): Promise<TraceLoad> {
  const opts = { badRows: args.badRows };
  if (args.format === 'philly') return loadPhilly(args.trace, opts);
  if (args.format === 'openb') return loadOpenB({ podList: args.trace, ...(args.nodeList ? { nodeList: args.nodeList } : {}) }, opts);
  return loadGenericCsv(args.trace, opts);
}

/** Philly gives VC sizes in nodes of 8 GPUs: the cluster is those nodes, named in order. */
function phillyCluster(load: TraceLoad): ClusterSpec {
  const gpus = (load.queues ?? []).reduce((sum, q) => sum + q.gpus, 0);
  const count = Math.round(gpus / PHILLY_GPUS_PER_NODE);
  const width = String(count - 1).length;
  return {
    nodes: Array.from({ length: count }, (_, i) => ({ name: `node-${String(i).padStart(width, '0')}`, gpus: PHILLY_GPUS_PER_NODE, gpuModel: PHILLY_GPU_MODEL, cpuMilli: 0, memoryMiB: 0, labels: {} })),
  };
}

async function clusterFor(args: CommonArgs, load: TraceLoad): Promise<{ spec: ClusterSpec; source: string }> {
  let spec: ClusterSpec;
  let source: string;
  if (args.clusterFile) {
    spec = parseClusterSpec(await readYaml(args.clusterFile, 'cluster spec'), args.clusterFile);
    source = args.clusterFile;
  } else if (load.cluster) {
    spec = load.cluster;
    source = 'the trace\'s node list';
  } else if (args.format === 'philly') {
    spec = phillyCluster(load);
    source = 'the Philly VC sizes (8 GPUs per node)';
  } else {
    throw new SimulateInputError('this trace has no node list: give a cluster spec with --cluster FILE.yaml');
  }
  if (args.shrink !== undefined && args.shrink !== 1) {
    spec = shrinkCluster(spec, args.shrink);
    source += `, shrunk to ${args.shrink}`;
  }
  return { spec, source };
}

async function settingsFor(args: CommonArgs): Promise<SchedulerSettings> {
  const doc = args.schedulerConfigFile ? await readYaml(args.schedulerConfigFile, 'scheduler config') : null;
  return parseSchedulerSettings(doc, args.schedulerConfigFile);
}

function queuesFor(args: ReplayArgs, load: TraceLoad): SnapshotQueue[] {
  if (args.queues) return queuesOf(args.queues);
  if (load.queues) return rootQueues(load.queues);
  // Queues named only by the jobs: none is guaranteed anything, so they share by fair share alone.
  return rootQueues([...new Set(load.jobs.map((j) => j.queue))].sort().map((name) => ({ name, gpus: 0 })));
}

export async function simulateReplay(args: ReplayArgs): Promise<ReplayReport> {
  const settings = await settingsFor(args);
  const load = await loadTrace(args);
  const { spec, source } = await clusterFor(args, load);
  const cluster = clusterOf(spec, queuesFor(args, load));
  const declaredLimits = args.declaredLimits ?? null;
  const prep = prepareJobs(load.jobs, cluster, { oversize: args.oversize, targetLoad: args.targetLoad ?? null, declaredLimits });
  const runs = args.policies.map((policy) => {
    const r = replayPrepared(
      prep.inputs,
      cluster,
      {
        policy,
        checkpointInterval: args.checkpointSeconds ?? null,
        cycleSeconds: args.cycleSeconds ?? 0,
        scheduler: settings.scheduler,
        fairShareHalfLifeMs: settings.fairShareHalfLifeMs,
        buckets: args.buckets,
      },
      prep,
    );
    return { policy, seconds: r.seconds, schedulerCalls: r.sim.schedulerCalls, metrics: r.metrics };
  });
  return {
    kind: 'replay',
    trace: { format: args.format, path: args.trace, jobs: load.jobs.length, badRows: load.issues.map(formatIssue) },
    cluster: { source, nodes: cluster.nodes.length, gpus: cluster.capacity, queues: cluster.queues.map((q) => q.id) },
    jobs: { replayed: prep.inputs.length, oversize: prep.oversize, oversizeMode: args.oversize, zeroGpu: prep.zeroGpu },
    offeredLoad: prep.offeredLoad,
    compressionFactor: prep.factor,
    checkpointSeconds: args.checkpointSeconds ?? null,
    declaredLimits,
    runs,
  };
}

function fillPolicy(name: string, settings: SchedulerSettings): PolicyFactory {
  if (name === 'gpufleet-default') return settings.scheduler.placement.default === 'fragmentation' ? gpufleetFragmentation : gpufleetBinpack;
  const factory = FILL_POLICIES[name];
  if (!factory) throw new SimulateInputError(`unknown fill policy ${name}: one of ${FILL_POLICY_NAMES.join(', ')}`);
  return factory;
}

export async function simulateFill(args: FillArgs): Promise<FillReport> {
  const settings = await settingsFor(args);
  const load = await loadTrace(args);
  const { spec, source } = await clusterFor(args, load);
  const pods = load.jobs.map(fillPodFromJob);
  const capacity = spec.nodes.reduce((sum, n) => sum + (n.gpuModel === null ? 0 : n.gpus), 0);
  const runs = args.policies.map((policy) => {
    const factory = fillPolicy(policy, settings);
    const seeds = args.seeds.map((seed) => {
      const t0 = performance.now();
      const r = runFill(spec, pods, factory, seed);
      return { seed, seconds: (performance.now() - t0) / 1000, allocatedPct: r.allocatedPct, submitted: r.submitted, placed: r.placed, unplaced: r.unplaced };
    });
    return { policy, placement: fillPolicyName(factory), seeds };
  });
  return {
    kind: 'fill',
    trace: { format: args.format, path: args.trace, pods: pods.length, badRows: load.issues.map(formatIssue) },
    cluster: { source, nodes: spec.nodes.length, gpus: capacity },
    runs,
  };
}

function fillPolicyName(factory: PolicyFactory): string {
  return Object.entries(FILL_POLICIES).find(([, f]) => f === factory)?.[0] ?? 'unknown';
}
