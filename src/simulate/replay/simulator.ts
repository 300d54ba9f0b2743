import { scheduleFifo } from '../../scheduler/fifo.js';
import { defaultSchedulerConfig, type PendingWorkload, type Plan, type ReplicaAllocation, type RunningWorkload, type SchedulerConfig, type Snapshot } from '../../scheduler/types.js';
import { pendingWorkload, runningWorkload } from '../../scheduler/workload-objects.js';
import type { ReplayCluster } from './cluster.js';
import { EventQueue } from './events.js';
import { ProductionScheduler } from './production.js';

/**
 * The discrete-event core of the queueing replay. Simulated time only (no sleeps). The baselines:
 * at every event time (all events of one timestamp taken together) it builds a `Snapshot` and
 * calls the production `scheduleFifo` for placement; they differ only in the ORDER of the pending jobs:
 *
 * - `fifo`: submit time, then arrival order — scheduleFifo's own order
 *   (`submittedAt` = simulated submit time in ms, ids zero-padded in arrival order).
 * - `sjf`: known duration, then submit time. `tiresias-las`: discretized attained service
 *   (GPU-seconds) level, then submit time (FIFO within a level).
 *   For these, the replay sorts the pending jobs by the policy's key and passes them with
 *   `priority` 0 and `submittedAt` = rank in that order, so scheduleFifo's sort reproduces the
 *   policy's order and its placement (first-fit, best effort, quotas) is still production's code.
 *
 * `gpufleet-default` is not an order: at every event time with a change it calls the production
 * `schedule()` (production.ts) with the scheduler configuration, and carries out its plan: placements
 * start; preemptions and consolidation moves (with `consolidation: apply`) stop their workloads at
 * once, which go back to pending (restarting from scratch, or from their last checkpoint), and the
 * scheduler runs again at the same time, as the server's loop does once victims have ended. While
 * work waits it also wakes when running work reaches the minimum runtime; with `cycleSeconds` it
 * plans only on that grid.
 *
 * Shortcuts for the baselines (on by default, `shortcuts: false` turns them off;
 * test/simulate/replay.test.ts proves equal outcomes): the scheduler is called only at times when something changed and GPUs are free;
 * a snapshot holds only nodes with free GPUs (a full node can take nothing, and scheduleFifo walks
 * nodes in name order, so leaving it out changes no placement), only the running jobs on those
 * nodes (what the GPUs in use are derived from; the queues have no limits, so the queue usage the
 * others would add changes nothing) and only pending jobs that fit the
 * largest free block, in chunks, in policy order (placement is a greedy pass in that order whose
 * state is the free GPUs, so chunked calls with the free GPUs updated in between give the same
 * placements as one call).
 */
export type ReplayPolicyName = 'fifo' | 'sjf' | 'tiresias-las' | 'gpufleet-default';

export interface SimJobInput {
  id: string;
  queue: string;
  submitTime: number;
  duration: number;
  gpus: number;
  /** gpufleet-default only (the other policies ignore it): higher runs first and may preempt lower in its queue. */
  priority?: number;
  /** gpufleet-default only: seconds, which lets the scheduler reserve and backfill. */
  timeLimit?: number | null;
}

export interface SimOptions {
  policy: ReplayPolicyName;
  /** Tiresias: attained-service thresholds in GPU-seconds between levels (default 1 and 10 GPU-hours: 3 levels). */
  lasThresholds?: number[];
  /** Tiresias: preempt running jobs of a lower level for a waiting job of a higher one (default true). */
  preemptive?: boolean;
  /** Seconds between checkpoints: a preempted job keeps the work up to its last checkpoint. Default: none (restart from scratch). */
  checkpointInterval?: number | null;
  /** Default true; false = one scheduleFifo call per event time with every node and every pending job, and gpufleet-default's snapshots with every pending job. */
  shortcuts?: boolean;
  /** Jobs per scheduleFifo call when shortcuts are on (default 256). */
  chunk?: number;
  /** gpufleet-default: the scheduler configuration (default: the server's default). */
  scheduler?: SchedulerConfig;
  /**
   * gpufleet-default: plan at most once per this many simulated seconds, on a fixed grid (t = k ×
   * cycleSeconds), for what changed since; 0 (the default) plans at every event time with a change.
   */
  cycleSeconds?: number;
  /** gpufleet-default: half-life of past use in fair share, ms (default 24 h, as the server's). */
  fairShareHalfLifeMs?: number;
  /** Sees what happens, for tests that set the same state up in the server (`now` in ms). */
  observer?: ReplayObserver;
}

export interface ReplayObserver {
  /** gpufleet-default: each snapshot and the plan the scheduler made for it. */
  cycle?(snapshot: Snapshot, plan: Plan, now: number): void;
  /** A run of a job ended (it completed or was stopped), with what it held. */
  runEnded?(run: { workloadId: string; allocation: ReplicaAllocation; startMs: number; endMs: number; completed: boolean }): void;
}

export interface SimJobResult {
  id: string;
  queue: string;
  gpus: number;
  duration: number;
  submitTime: number;
  firstStart: number;
  finish: number;
  /** Seconds spent pending, over all waits (after preemptions too). */
  waited: number;
  preemptions: number;
}

export interface SimResult {
  jobs: SimJobResult[];
  /** Step function of allocated GPUs and of pending jobs: at times[i] they became gpus[i] and pending[i]. */
  allocation: { times: number[]; gpus: number[]; pending: number[] };
  /** GPU-seconds allocated per queue (work lost to preemption included). */
  queueGpuSeconds: Record<string, number>;
  /**
   * Per queue, step functions of its allocated GPUs and of its demand (the GPUs of its running and
   * pending jobs): from times[i] on they were gpus[i] and demand[i]; a point only where one changed.
   */
  queueSeries: Record<string, QueueSeries>;
  preemptions: number;
  schedulerCalls: number;
  /** Jobs never started (larger than any node). */
  unplaceable: string[];
}

export interface QueueSeries {
  times: number[];
  gpus: number[];
  demand: number[];
}

interface SimJob {
  idx: number;
  input: SimJobInput;
  wid: string;
  submitMs: number;
  state: 'future' | 'pending' | 'running' | 'done';
  node: number;
  gpuIndices: number[];
  /** What the scheduler sees of the job while it runs; null otherwise. */
  running: RunningWorkload | null;
  /** gpufleet-default: what the scheduler sees of the job while it waits (built once). */
  workload: PendingWorkload | null;
  startedAt: number;
  /** Last time attained service (and queue GPU-seconds) was brought up to date. */
  accountedTo: number;
  /** Seconds of the job's duration already done (kept across a preemption only up to a checkpoint). */
  done: number;
  attained: number;
  level: number;
  epoch: number;
  firstStart: number;
  finish: number;
  waited: number;
  pendingSince: number;
  preemptions: number;
}

type Ev = { kind: 'arrival'; job: SimJob } | { kind: 'completion' | 'demote'; job: SimJob; epoch: number } | { kind: 'wake' };

const DEFAULT_THRESHOLDS = [3600, 36000];
const DEFAULT_HALF_LIFE_MS = 24 * 3600 * 1000;
/** At most this many scheduler calls at one time while their plans keep stopping work (the server would go on at its next cycle). */
const MAX_PRODUCTION_ROUNDS = 16;

export function simulate(inputs: readonly SimJobInput[], cluster: ReplayCluster, opts: SimOptions): SimResult {
  const policy = opts.policy;
  const thresholds = opts.lasThresholds ?? DEFAULT_THRESHOLDS;
  const las = policy === 'tiresias-las';
  const preemptive = las && (opts.preemptive ?? true);
  const checkpoint = opts.checkpointInterval ?? null;
  const shortcuts = opts.shortcuts ?? true;
  const chunkSize = opts.chunk ?? 256;
  const cycleSeconds = opts.cycleSeconds ?? 0;
  if (!(cycleSeconds >= 0)) throw new Error(`cycleSeconds must be 0 or more, got ${cycleSeconds}`);
  const width = String(Math.max(0, inputs.length - 1)).length;
  const jobs: SimJob[] = inputs.map((input, idx) => ({
    idx,
    input,
    wid: `j${String(idx).padStart(width, '0')}`,
    submitMs: Math.round(input.submitTime * 1000),
    state: 'future',
    node: -1,
    gpuIndices: [],
    running: null,
    workload: null,
    startedAt: 0,
    accountedTo: 0,
    done: 0,
    attained: 0,
    level: 0,
    epoch: 0,
    firstStart: NaN,
    finish: NaN,
    waited: 0,
    pendingSince: 0,
    preemptions: 0,
  }));
  const byWid = new Map(jobs.map((j) => [j.wid, j]));
  const gpusPerNode = cluster.largestNode;
  const nodes = cluster.nodes;
  const nodeIndex = new Map(nodes.map((n, i) => [n.id, i]));
  const used: boolean[][] = nodes.map((n) => n.gpus.map(() => false));
  const free: number[] = nodes.map((n) => n.gpus.length);
  const runningOn: Set<SimJob>[] = nodes.map(() => new Set());
  let freeTotal = free.reduce((a, b) => a + b, 0);
  const queueGpuSeconds: Record<string, number> = {};
  for (const q of cluster.queues) queueGpuSeconds[q.id] = 0;
  const queueSeries: Record<string, QueueSeries> = {};
  const queueNow = new Map(cluster.queues.map((q) => [q.id, { gpus: 0, demand: 0 }]));
  /** Queues whose allocation or demand changed at the current event time. */
  const queuesTouched = new Set<string>();
  const touchQueue = (queue: string, gpus: number, demand: number) => {
    const now = queueNow.get(queue)!;
    now.gpus += gpus;
    now.demand += demand;
    queuesTouched.add(queue);
  };
  const allocation = { times: [] as number[], gpus: [] as number[], pending: [] as number[] };
  let allocated = 0;
  let preemptions = 0;
  let schedulerCalls = 0;
  const unplaceable: string[] = [];
  const production =
    policy === 'gpufleet-default'
      ? new ProductionScheduler(nodes, cluster.queues, opts.scheduler ?? defaultSchedulerConfig, opts.fairShareHalfLifeMs ?? DEFAULT_HALF_LIFE_MS, shortcuts ? cluster.capacity : Infinity)
      : null;
  /**
   * gpufleet-default: what the scheduler sees of the running jobs (in the order they started) and
   * of the pending ones (in `pending`'s order), kept as they change: building them from the jobs
   * each cycle read every job, most of a replay's own cost.
   */
  const runningWork: RunningWorkload[] = [];
  const waiting: PendingWorkload[] = [];
  /** Every run started, in order (with the job's epoch then); `wakeWhenStoppable` has passed over the first `startsSeen`. */
  const starts: { job: SimJob; epoch: number }[] = [];
  let startsSeen = 0;

  const toWorkload = (job: SimJob, rank: number): PendingWorkload => ({
    id: job.wid,
    name: job.input.id,
    queueId: job.input.queue,
    priority: production ? (job.input.priority ?? 0) : 0,
    preemptible: true,
    replicas: 1,
    request: { gpus: job.input.gpus, gpuFraction: null, gpuMemoryMiB: null, cpus: 0, memoryMiB: 0 },
    gpuModels: null,
    topology: { required: null, preferred: null },
    timeLimitMs: production && job.input.timeLimit != null ? job.input.timeLimit * 1000 : null,
    submittedAt: policy === 'fifo' || production ? job.submitMs : rank,
    claimedAt: null,
  });
  const levelOf = (attained: number) => {
    let l = 0;
    while (l < thresholds.length && attained >= thresholds[l]!) l++;
    return l;
  };
  const compare = (a: SimJob, b: SimJob): number => {
    if (policy === 'sjf') {
      const d = a.input.duration - b.input.duration;
      if (d !== 0) return d;
    } else if (las) {
      const d = a.level - b.level;
      if (d !== 0) return d;
    }
    return a.submitMs - b.submitMs || a.idx - b.idx;
  };
  let pending: SimJob[] = [];
  const enqueue = (job: SimJob, t: number) => {
    job.state = 'pending';
    job.pendingSince = t;
    // Binary insertion: pending stays sorted by the policy's key.
    let lo = 0;
    let hi = pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(pending[mid]!, job) <= 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === pending.length) pending.push(job);
    else pending.splice(lo, 0, job);
    if (production) waiting.splice(lo, 0, (job.workload ??= toWorkload(job, 0)));
  };

  const events = new EventQueue<Ev>();
  for (const job of jobs) {
    if (job.input.gpus > gpusPerNode) unplaceable.push(job.input.id);
    else events.push(job.input.submitTime, { kind: 'arrival', job });
  }

  const recordQueues = (t: number) => {
    for (const q of queuesTouched) {
      const now = queueNow.get(q)!;
      const series = (queueSeries[q] ??= { times: [], gpus: [], demand: [] });
      const n = series.times.length;
      if (n > 0 && series.gpus[n - 1] === now.gpus && series.demand[n - 1] === now.demand) continue;
      series.times.push(t);
      series.gpus.push(now.gpus);
      series.demand.push(now.demand);
    }
    queuesTouched.clear();
  };
  const recordAllocation = (t: number) => {
    recordQueues(t);
    const n = allocation.times.length;
    if (n > 0 && allocation.times[n - 1] === t) {
      allocation.gpus[n - 1] = allocated;
      allocation.pending[n - 1] = pending.length;
    } else {
      allocation.times.push(t);
      allocation.gpus.push(allocated);
      allocation.pending.push(pending.length);
    }
  };

  const start = (job: SimJob, nodeId: string, gpuIndices: number[], t: number) => {
    const n = nodeIndex.get(nodeId)!;
    for (const g of gpuIndices) {
      if (used[n]![g]) throw new Error(`replay: GPU ${g} of ${nodeId} given twice`);
      used[n]![g] = true;
    }
    free[n]! -= gpuIndices.length;
    freeTotal -= gpuIndices.length;
    allocated += gpuIndices.length;
    touchQueue(job.input.queue, gpuIndices.length, 0);
    runningOn[n]!.add(job);
    job.state = 'running';
    // A claim ends when the workload starts; snapshots already taken keep theirs.
    if (job.workload?.claimedAt != null) job.workload = null;
    job.node = n;
    job.gpuIndices = gpuIndices;
    job.running = runningWorkload(toWorkload(job, 0), {
      startedAt: Math.round(t * 1000),
      allocations: [{ nodeId, gpuIndices, gpuFraction: null, gpuModel: nodes[n]!.gpus[gpuIndices[0]!]!.model, cpus: 0, memoryMiB: 0 }],
      releasing: false,
      releasingFor: null,
    });
    if (production) {
      runningWork.push(job.running);
      production.started(job.running);
    }
    job.startedAt = t;
    job.accountedTo = t;
    job.waited += t - job.pendingSince;
    if (Number.isNaN(job.firstStart)) job.firstStart = t;
    job.epoch++;
    if (production) starts.push({ job, epoch: job.epoch });
    events.push(t + (job.input.duration - job.done), { kind: 'completion', job, epoch: job.epoch });
    if (las) scheduleDemotion(job);
  };
  const scheduleDemotion = (job: SimJob) => {
    const next = thresholds[job.level];
    if (next === undefined || job.input.gpus === 0) return;
    const at = job.accountedTo + (next - job.attained) / job.input.gpus;
    events.push(at, { kind: 'demote', job, epoch: job.epoch });
  };
  const account = (job: SimJob, t: number) => {
    const span = t - job.accountedTo;
    job.attained += span * job.input.gpus;
    queueGpuSeconds[job.input.queue] = (queueGpuSeconds[job.input.queue] ?? 0) + span * job.gpuIndices.length;
    job.accountedTo = t;
    if (las) job.level = levelOf(job.attained);
  };
  const release = (job: SimJob, t: number, completed: boolean) => {
    account(job, t);
    opts.observer?.runEnded?.({ workloadId: job.wid, allocation: job.running!.allocations[0]!, startMs: job.running!.startedAt, endMs: Math.round(t * 1000), completed });
    const n = job.node;
    for (const g of job.gpuIndices) used[n]![g] = false;
    free[n]! += job.gpuIndices.length;
    freeTotal += job.gpuIndices.length;
    allocated -= job.gpuIndices.length;
    touchQueue(job.input.queue, -job.gpuIndices.length, completed ? -job.input.gpus : 0);
    runningOn[n]!.delete(job);
    if (production) runningWork.splice(runningWork.indexOf(job.running!), 1);
    production?.ended(job.wid, Math.round(t * 1000));
    const ran = t - job.startedAt;
    job.node = -1;
    job.gpuIndices = [];
    job.running = null;
    return ran;
  };

  const runningOnNodes = (nodeIdx: number[]): RunningWorkload[] => {
    const out: RunningWorkload[] = [];
    for (const n of nodeIdx) for (const job of runningOn[n]!) out.push(job.running!);
    return out;
  };
  const callScheduler = (batch: SimJob[], nodeIdx: number[], t: number, rankBase: number) => {
    const snapshot: Snapshot = {
      nodes: nodeIdx.map((n) => nodes[n]!),
      queues: cluster.queues,
      running: runningOnNodes(nodeIdx),
      pending: batch.map((j, i) => toWorkload(j, rankBase + i)),
    };
    schedulerCalls++;
    const plan = scheduleFifo(snapshot, Math.round(t * 1000));
    for (const p of plan.placements) {
      const [a] = p.allocations;
      if (p.allocations.length !== 1 || !a) throw new Error(`replay: ${p.workloadId} placed as ${p.allocations.length} replicas`);
      start(byWid.get(p.workloadId)!, a.nodeId, a.gpuIndices, t);
    }
    return plan.placements.length;
  };

  /** One placement pass over the pending jobs in policy order. */
  const placeRound = (t: number): number => {
    if (pending.length === 0) return 0;
    let placed = 0;
    if (!shortcuts) {
      placed = callScheduler(pending, nodes.map((_, i) => i), t, 0);
    } else {
      let p = 0;
      let rank = 0;
      while (p < pending.length && freeTotal > 0) {
        let maxFree = 0;
        const withFree: number[] = [];
        for (let n = 0; n < nodes.length; n++) {
          if (free[n]! > 0) withFree.push(n);
          if (free[n]! > maxFree) maxFree = free[n]!;
        }
        const batch: SimJob[] = [];
        while (p < pending.length && batch.length < chunkSize) {
          const job = pending[p++]!;
          if (job.input.gpus <= maxFree) batch.push(job);
        }
        if (batch.length === 0) break;
        placed += callScheduler(batch, withFree, t, rank);
        rank += batch.length;
      }
    }
    if (placed > 0) pending = pending.filter((j) => j.state === 'pending');
    return placed;
  };

  /** A preempted job goes back to pending, keeping its work up to its last checkpoint (or none). */
  const stop = (v: SimJob, t: number) => {
    const ran = release(v, t, false);
    v.done = checkpoint ? Math.min(v.input.duration, v.done + Math.floor(ran / checkpoint) * checkpoint) : 0;
    v.preemptions++;
    preemptions++;
    v.epoch++;
    enqueue(v, t);
  };

  /** gpufleet-default: the production scheduler's plan, carried out; again while it stops work. */
  const productionRound = (scheduler: ProductionScheduler, t: number) => {
    const now = Math.round(t * 1000);
    for (let round = 0; round < MAX_PRODUCTION_ROUNDS && pending.length > 0; round++) {
      const snapshot = scheduler.snapshot(now, waiting.slice(), runningWork.slice());
      schedulerCalls++;
      const plan = scheduler.plan(snapshot, now);
      opts.observer?.cycle?.(snapshot, plan, now);
      for (const p of plan.placements) {
        const [a] = p.allocations;
        if (p.allocations.length !== 1 || !a) throw new Error(`replay: ${p.workloadId} placed as ${p.allocations.length} replicas`);
        start(byWid.get(p.workloadId)!, a.nodeId, a.gpuIndices, t);
      }
      const stops = scheduler.config.consolidation === 'apply' ? [...plan.preemptions, ...plan.moves] : plan.preemptions;
      for (const s of stops) {
        stop(byWid.get(s.workloadId)!, t);
        // As the plan applier records it: what the victims freed is their preemptor's until it starts.
        const claimant = byWid.get(s.forWorkloadId)!;
        claimant.workload = pendingWorkload(claimant.workload!, now);
        const at = pending.indexOf(claimant);
        if (at < 0) throw new Error(`replay: ${s.forWorkloadId} was stopped for but is not pending`);
        waiting[at] = claimant.workload;
      }
      if (plan.placements.length > 0) dropStarted(plan.placements.map((p) => byWid.get(p.workloadId)!));
      if (stops.length === 0) break;
    }
    if (pending.length > 0) wakeWhenStoppable(scheduler.config.minRuntimeMs, t);
  };
  /** gpufleet-default: takes jobs that started out of `pending` and `waiting`, found by position (not by reading every job). */
  const dropStarted = (started: SimJob[]) => {
    const gone = new Uint8Array(pending.length);
    for (const job of started) gone[pending.indexOf(job)] = 1;
    let kept = 0;
    for (let i = 0; i < pending.length; i++) {
      if (gone[i] === 1) continue;
      pending[kept] = pending[i]!;
      waiting[kept++] = waiting[i]!;
    }
    pending.length = kept;
    waiting.length = kept;
  };
  /**
   * Work younger than the minimum runtime cannot be reclaimed or preempted; the server's loop runs
   * every second and notices when it comes of age. The replay has no periodic cycle, so while work
   * waits it wakes up when the next running job reaches that age.
   */
  const wakeWhenStoppable = (minRuntimeMs: number, t: number) => {
    // Runs start at times that never go back, so they come of age in the order they started: the
    // next is the first still running that is not yet of age. Those passed over never are again.
    for (; startsSeen < starts.length; startsSeen++) {
      const { job, epoch } = starts[startsSeen]!;
      if (job.state === 'running' && job.epoch === epoch && job.startedAt + minRuntimeMs / 1000 > t) break;
    }
    const next = starts[startsSeen];
    if (next) wakeAt(next.job.startedAt + minRuntimeMs / 1000, t);
  };
  /** Wake-ups still to come; one at or before the time asked for serves. */
  const wakes = new Set<number>();
  const wakeAt = (at: number, t: number) => {
    const when = cycleSeconds > 0 ? Math.ceil(at / cycleSeconds) * cycleSeconds : at;
    for (const w of wakes) if (w > t && w <= when) return;
    wakes.add(when);
    events.push(when, { kind: 'wake' });
  };

  /** Tiresias: a waiting job of a higher level takes GPUs from running jobs of lower levels. */
  const preemptRound = (t: number) => {
    for (let guard = 0; guard < 10_000; guard++) {
      let victimized = false;
      for (const job of pending) {
        if (job.level >= thresholds.length) break; // pending is sorted by level: no one below to take from
        // Pick the first node (name order) where free GPUs plus lower-level jobs' GPUs suffice.
        let target = -1;
        for (let n = 0; n < nodes.length && target < 0; n++) {
          let cap = free[n]!;
          for (const r of runningOn[n]!) if (r.level > job.level) cap += r.gpuIndices.length;
          if (cap >= job.input.gpus) target = n;
        }
        if (target < 0) continue;
        const victims = [...runningOn[target]!].filter((r) => r.level > job.level).sort((a, b) => compare(b, a));
        for (const v of victims) {
          if (free[target]! >= job.input.gpus) break;
          stop(v, t);
        }
        victimized = true;
        break;
      }
      if (!victimized) return;
      if (placeRound(t) === 0) return;
    }
  };

  while (events.size > 0) {
    const t = events.peekTime()!;
    let changed = false;
    let woken = false;
    while (events.size > 0 && events.peekTime() === t) {
      const ev = events.pop()!.data;
      if (ev.kind === 'wake') {
        wakes.delete(t);
        woken = changed = true;
        continue;
      }
      const job = ev.job;
      if (ev.kind === 'arrival') {
        enqueue(job, t);
        touchQueue(job.input.queue, 0, job.input.gpus);
        changed = true;
      } else if (ev.epoch !== job.epoch || job.state !== 'running') {
        continue; // stale: the job was preempted since
      } else if (ev.kind === 'completion') {
        release(job, t, true);
        job.done = job.input.duration;
        job.state = 'done';
        job.finish = t;
        changed = true;
      } else {
        // demotion: attained service crossed a threshold while running
        account(job, t);
        // Floating point: at the demotion time attained is the threshold, give or take an ulp.
        const next = thresholds[job.level];
        if (next !== undefined && job.attained >= next * (1 - 1e-12)) job.level++;
        scheduleDemotion(job);
        changed = true;
      }
    }
    if (changed && production) {
      if (cycleSeconds === 0 || woken) productionRound(production, t);
      else if (pending.length > 0) wakeAt(t, t);
    } else if (changed && (freeTotal > 0 || !shortcuts)) placeRound(t);
    if (changed && preemptive && pending.length > 0) preemptRound(t);
    recordAllocation(t);
  }

  return {
    jobs: jobs
      .filter((j) => j.state === 'done')
      .map((j) => ({
        id: j.input.id,
        queue: j.input.queue,
        gpus: j.input.gpus,
        duration: j.input.duration,
        submitTime: j.input.submitTime,
        firstStart: j.firstStart,
        finish: j.finish,
        waited: j.waited,
        preemptions: j.preemptions,
      })),
    allocation,
    queueGpuSeconds,
    queueSeries,
    preemptions,
    schedulerCalls,
    unplaceable,
  };
}
