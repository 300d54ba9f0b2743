import { describe, expect, it } from 'vitest';
import { buildCluster, declaredLimit, prepareJobs, replay, simulate, type SimJobInput } from '../../src/simulate/replay/index.js';
import { seededRandom } from '../../src/core/seeded-random.js';
import { defaultSchedulerConfig } from '../../src/scheduler/types.js';
import { wholeGpuJob, type TraceJob } from '../../src/simulate/traces/index.js';

/** gpufleet-default: the production schedule() in simulated time, on hand-made traces with known answers. */
const job = (id: string, submitTime: number, gpus: number, duration: number, queue: string): TraceJob =>
  wholeGpuJob({ id, line: 0, submitTime, duration, gpus, queue });
const finishes = (r: ReturnType<typeof replay>) => Object.fromEntries(r.sim.jobs.map((j) => [j.id, j.finish]));

describe('gpufleet-default: reclaim across queues', () => {
  // 1 node × 8 GPUs; queues x and y are each guaranteed 4. x fills the node with eight 1-GPU jobs
  // of 100 s at 0 (borrowing y's 4); at 70 y asks for 4 GPUs for 10 s. x's jobs are past the
  // minimum runtime (60 s), so y reclaims 4 of them: y runs 70–80, the 4 victims wait from 70 and
  // restart from scratch at 80 (80–180). FIFO instead starts y at 100 (100–110).
  const c = buildCluster({ nodes: 1, gpusPerNode: 8, gpuModel: 'P100-16GB', queues: [{ name: 'x', gpus: 4 }, { name: 'y', gpus: 4 }] });
  const jobs = [...Array.from({ length: 8 }, (_, i) => job(`x${i}`, 0, 1, 100, 'x')), job('y', 70, 4, 10, 'y')];
  const xEnds = (r: ReturnType<typeof replay>) => r.sim.jobs.filter((j) => j.queue === 'x').map((j) => j.finish).sort((a, b) => a - b);

  it('reclaims 4 GPUs for y at once; the victims restart when y ends', () => {
    const r = replay(jobs, c, { policy: 'gpufleet-default' });
    expect(finishes(r)['y']).toBe(80);
    expect(xEnds(r)).toEqual([100, 100, 100, 100, 180, 180, 180, 180]);
    expect(r.metrics.preemptions).toBe(4);
    expect(r.metrics.lostGpuSeconds).toBeCloseTo(4 * 70);
    // Waits: y 0; each victim 10 (70–80).
    expect(r.metrics.perQueue['y']!.wait.mean).toBe(0);
    expect(r.metrics.perQueue['x']!.wait.mean).toBeCloseTo(40 / 8);
  });
  it('with checkpoints every 30 s a victim keeps 60 s of its 70 and ends at 120', () => {
    const r = replay(jobs, c, { policy: 'gpufleet-default', checkpointInterval: 30 });
    expect(xEnds(r)).toEqual([100, 100, 100, 100, 120, 120, 120, 120]);
    expect(r.metrics.lostGpuSeconds).toBeCloseTo(4 * 10);
  });
  it('FIFO waits for x to end', () => {
    expect(finishes(replay(jobs, c, { policy: 'fifo' }))['y']).toBe(110);
  });
  it('before the minimum runtime nothing is reclaimed; once it passes, the scheduler runs again and reclaims', () => {
    // y comes at 30, when x's jobs are 30 s old: nothing is stoppable until 60.
    const early = [...jobs.slice(0, 8), job('y', 30, 4, 10, 'y')];
    const r = replay(early, c, { policy: 'gpufleet-default' });
    expect(finishes(r)['y']).toBe(70);
    expect(r.metrics.preemptions).toBe(4);
    const patient = replay(early, c, { policy: 'gpufleet-default', scheduler: { ...defaultSchedulerConfig, minRuntimeMs: 200_000 } });
    expect(finishes(patient)['y']).toBe(110);
    expect(patient.metrics.preemptions).toBe(0);
  });
});

describe('gpufleet-default: time-decayed past use', () => {
  // 1 node × 4 GPUs; queues x and y with no guarantee share the surplus. x ran 4 GPUs over 0–100 s;
  // with a half-life of 100 s its decayed use at 100 is 4 × (1 − 2^−1) = 2 GPUs. At 100 four 1-GPU
  // jobs of each queue wait (x's older). Water-filling the 4 GPUs on (given + past use): y is given
  // 2 to catch up, then the last 2 are split: y deserves 3, x 1. So y starts 3 jobs and x 1.
  // Without time-based fairness (usageWeight 0) each deserves 2; FIFO starts x's 4 older jobs.
  // (A long minimum runtime keeps y from reclaiming x's running jobs meanwhile.)
  const patient = { ...defaultSchedulerConfig, minRuntimeMs: 1_000_000 };
  const c = buildCluster({ nodes: 1, gpusPerNode: 4, gpuModel: 'P100-16GB', queues: [{ name: 'x', gpus: 0 }, { name: 'y', gpus: 0 }] });
  const jobs = [
    ...Array.from({ length: 4 }, (_, i) => job(`past${i}`, 0, 1, 100, 'x')),
    ...Array.from({ length: 4 }, (_, i) => job(`x${i}`, 10 + i, 1, 50, 'x')),
    ...Array.from({ length: 4 }, (_, i) => job(`y${i}`, 20 + i, 1, 50, 'y')),
  ];
  const startedAt100 = (r: ReturnType<typeof replay>) => {
    const started = r.sim.jobs.filter((j) => j.firstStart === 100);
    return { x: started.filter((j) => j.queue === 'x').length, y: started.filter((j) => j.queue === 'y').length };
  };
  it('past use lowers a queue’s share of the surplus', () => {
    const r = replay(jobs, c, { policy: 'gpufleet-default', fairShareHalfLifeMs: 100_000, scheduler: patient });
    expect(startedAt100(r)).toEqual({ x: 1, y: 3 });
  });
  it('with usageWeight 0 the surplus is split evenly; FIFO goes by age', () => {
    const even = replay(jobs, c, { policy: 'gpufleet-default', fairShareHalfLifeMs: 100_000, scheduler: { ...patient, usageWeight: 0 } });
    expect(startedAt100(even)).toEqual({ x: 2, y: 2 });
    expect(startedAt100(replay(jobs, c, { policy: 'fifo' }))).toEqual({ x: 4, y: 0 });
  });
});

describe('gpufleet-default: the reduced snapshot', () => {
  it('passing only the oldest pending jobs of each queue, priority and shape up to the capacity changes no outcome', () => {
    // 2 nodes × 4 GPUs and a backlog of hundreds: most cycles leave jobs out of the snapshot.
    const rnd = seededRandom(9);
    const jobs: SimJobInput[] = Array.from({ length: 400 }, (_, i) => ({
      id: `r${i}`,
      queue: rnd() < 0.6 ? 'a' : 'b',
      submitTime: i * 0.5,
      duration: 5 + Math.floor(rnd() * 120),
      gpus: [1, 1, 2, 4][Math.floor(rnd() * 4)]!,
      priority: rnd() < 0.2 ? 10 : 0,
    }));
    const c = buildCluster({ nodes: 2, gpusPerNode: 4, gpuModel: 'P100-16GB', queues: [{ name: 'a', gpus: 4 }, { name: 'b', gpus: 4 }] });
    const opts = { policy: 'gpufleet-default' as const, scheduler: { ...defaultSchedulerConfig, minRuntimeMs: 20_000 }, fairShareHalfLifeMs: 600_000 };
    const passed = { reduced: [] as number[], full: [] as number[] };
    const reduced = simulate(jobs, c, { ...opts, observer: { cycle: (s) => passed.reduced.push(s.pending.length) } });
    const full = simulate(jobs, c, { ...opts, shortcuts: false, observer: { cycle: (s) => passed.full.push(s.pending.length) } });
    // The same cycles, most of them with jobs left out of the snapshot.
    expect(passed.reduced.length).toBe(passed.full.length);
    expect(passed.reduced.filter((n, i) => n < passed.full[i]! - 50).length).toBeGreaterThan(passed.full.length / 2);
    expect(reduced.jobs).toEqual(full.jobs);
    expect(reduced.preemptions).toBe(full.preemptions);
    expect(reduced.preemptions).toBeGreaterThan(0);
  });
});

describe('gpufleet-default: a cycle period', () => {
  it('plans only on a grid of cycleSeconds, for what changed since', () => {
    // 1 node × 4 GPUs: A(0, 4 GPUs, 10 s), B(1, 4, 5), C(2, 4, 1), cycles every 4 s.
    // A starts at 0 (on the grid); it ends at 10 → B starts at 12, ends at 17 → C starts at 20.
    const c = buildCluster({ nodes: 1, gpusPerNode: 4, gpuModel: 'P100-16GB', queues: [{ name: 'q', gpus: 4 }] });
    const jobs = [job('A', 0, 4, 10, 'q'), job('B', 1, 4, 5, 'q'), job('C', 2, 4, 1, 'q')];
    const r = replay(jobs, c, { policy: 'gpufleet-default', cycleSeconds: 4 });
    expect(Object.fromEntries(r.sim.jobs.map((j) => [j.id, [j.firstStart, j.finish]]))).toEqual({ A: [0, 10], B: [12, 17], C: [20, 21] });
    expect(finishes(replay(jobs, c, { policy: 'gpufleet-default' }))).toEqual({ A: 10, B: 15, C: 16 });
  });
});

describe('gpufleet-default: declared time limits', () => {
  const c = buildCluster({ nodes: 1, gpusPerNode: 8, gpuModel: 'P100-16GB', queues: [{ name: 'q', gpus: 8 }] });
  // A holds half the node until 10; big needs all of it; long would hold half until 102; short ends at 5.
  const jobs = [job('A', 0, 4, 10, 'q'), job('big', 1, 8, 5, 'q'), job('long', 2, 4, 100, 'q'), job('short', 2, 4, 3, 'q')];
  const spans = (r: ReturnType<typeof replay>) => Object.fromEntries(r.sim.jobs.map((j) => [j.id, [j.firstStart, j.finish]]));

  it('without limits, best effort: long starts beside A and big waits for it', () => {
    expect(spans(replay(jobs, c, { policy: 'gpufleet-default' }))).toEqual({ A: [0, 10], big: [102, 107], long: [2, 102], short: [10, 13] });
  });

  it('with each job declaring its duration, big reserves the node for 10: short backfills, long waits behind big', () => {
    const r = replay(jobs, c, { policy: 'gpufleet-default', declaredLimits: { factor: 1, roundUpSeconds: 1 } });
    expect(spans(r)).toEqual({ A: [0, 10], big: [10, 15], long: [15, 115], short: [2, 5] });
  });

  it('a limit is the duration × factor rounded up to the rounding; a trace\'s own limit is kept', () => {
    expect(declaredLimit(3601, { factor: 1, roundUpSeconds: 3600 })).toBe(7200);
    expect(declaredLimit(30, { factor: 2, roundUpSeconds: 1 })).toBe(60);
    expect(declaredLimit(0, { factor: 1, roundUpSeconds: 60 })).toBe(60);
    const own = { ...job('x', 0, 1, 10, 'q'), timeLimit: 50 };
    const prep = prepareJobs([own, job('y', 0, 1, 10, 'q')], c, { declaredLimits: { factor: 2, roundUpSeconds: 1 } });
    expect(prep.inputs.map((j) => j.timeLimit)).toEqual([50, 20]);
    expect(prepareJobs([job('y', 0, 1, 10, 'q')], c, {}).inputs[0]!.timeLimit).toBeNull();
  });
});
