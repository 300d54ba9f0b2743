import { describe, expect, it } from 'vitest';
import { buildCluster, fairAllocation, replay } from '../../src/simulate/replay/index.js';
import { windowIntegrals } from '../../src/simulate/replay/time-windows.js';
import { wholeGpuJob, type TraceJob } from '../../src/simulate/traces/index.js';

const job = (id: string, submitTime: number, gpus: number, duration: number, queue: string): TraceJob =>
  wholeGpuJob({ id, line: 0, submitTime, duration, gpus, queue });
/** One node of 8 GPUs; queues entitled 4 GPUs each. */
const cluster = (...queues: string[]) => buildCluster({ nodes: 1, gpusPerNode: 8, gpuModel: 'P100-16GB', queues: queues.map((name) => ({ name, gpus: 4 })) });

describe('max-min fair allocation', () => {
  it('gives each its weighted part, capped at its demand, the rest to the others', () => {
    expect(fairAllocation(8, [8, 8], [4, 4])).toEqual([4, 4]);
    expect(fairAllocation(8, [8, 2], [4, 4]).map((x) => +x.toFixed(6))).toEqual([6, 2]);
    expect(fairAllocation(8, [8, 8], [6, 2]).map((x) => +x.toFixed(6))).toEqual([6, 2]);
    expect(fairAllocation(8, [3, 0], [4, 4])).toEqual([3, 0]);
  });
  it('gives a queue without weight only what the weighted ones leave', () => {
    expect(fairAllocation(8, [2, 8], [4, 0]).map((x) => +x.toFixed(6))).toEqual([2, 6]);
    expect(fairAllocation(8, [8, 8], [4, 0]).map((x) => +x.toFixed(6))).toEqual([8, 0]);
  });
});

describe('windows', () => {
  it('integrates a step function per window, the last one shorter', () => {
    // 8 over 0–10, 4 over 10–25; windows of 10 from 0 to 25: 80, 40, 20.
    expect(windowIntegrals([0, 10], [8, 4], 0, 25, 10)).toEqual([80, 40, 20]);
  });
});

describe('fairness over time windows', () => {
  it('records each queue’s allocation and demand over time', () => {
    // x: 8 GPUs 0–100; y: 4 GPUs asked at 0, run 100–110 (FIFO, x arrived first).
    const r = replay([job('a', 0, 8, 100, 'x'), job('b', 0, 4, 10, 'y')], cluster('x', 'y'), { policy: 'fifo' });
    expect(r.sim.queueSeries['x']).toEqual({ times: [0, 100], gpus: [8, 0], demand: [8, 0] });
    expect(r.sim.queueSeries['y']).toEqual({ times: [0, 100, 110], gpus: [0, 4, 0], demand: [4, 4, 0] });
  });
  it('scores a queue hogging the GPUs while another waits below 1', () => {
    // Windows of 100 s. 0–100: x holds 8 of the 8 GPUs, y asks 4 and holds none; fair is 4 each
    // → ratios 2 and 0 → Jain 0.5. 100–110: only y asks → 1. Mean by length (50 + 10) / 110.
    const r = replay([job('a', 0, 8, 100, 'x'), job('b', 0, 4, 10, 'y')], cluster('x', 'y'), { policy: 'fifo', fairnessWindowSeconds: 100 });
    const f = r.metrics.fairness;
    expect(f.windows).toBe(2);
    expect(f.jain).toBeCloseTo(60 / 110);
    expect(f.jainMin).toBeCloseTo(0.5);
    expect(f.jainP5).toBeCloseTo(0.5);
    expect(f.windowSeconds).toBe(100);
    expect(f.definition).toMatch(/water-filled/);
  });
  it('scores two busy queues served alike 1', () => {
    // x and y each run two 4-GPU jobs one after the other: 4 GPUs each all along, both asking more.
    const jobs = [job('x1', 0, 4, 50, 'x'), job('y1', 0, 4, 50, 'y'), job('x2', 0, 4, 50, 'x'), job('y2', 0, 4, 50, 'y')];
    const r = replay(jobs, cluster('x', 'y'), { policy: 'fifo', fairnessWindowSeconds: 25 });
    expect(r.metrics.fairness.windows).toBe(4);
    expect(r.metrics.fairness.jain).toBeCloseTo(1);
    expect(r.metrics.fairness.jainMin).toBeCloseTo(1);
  });
  it('leaves a queue without demand out', () => {
    // z asks for nothing: x may use the whole node (its fair allocation is 8), so the index is 1
    // (the share of the whole replay against entitlements, 1 and 0 of 1/2 each, would give 0.5).
    const r = replay([job('a', 0, 8, 100, 'x')], cluster('x', 'z'), { policy: 'fifo' });
    expect(r.metrics.fairness.windows).toBe(1);
    expect(r.metrics.fairness.jain).toBe(1);
  });
});
