import { describe, expect, it } from 'vitest';
import type { GpuSample } from './gpu-telemetry.js';
import { UsageSummarizer } from './usage-summaries.js';

const sample = (index: number, activity: number, fbUsedMiB: number): GpuSample => ({
  index,
  uuid: `GPU-${index}`,
  utilPct: activity * 100,
  grEngineActive: activity,
  fbUsedMiB,
  fbFreeMiB: 1000 - fbUsedMiB,
  fbTotalMiB: 1000,
  powerW: 100,
  tempC: 40,
  smClockMHz: 1000,
});

describe('UsageSummarizer', () => {
  it('closes a window when it is full, with the mean activity and memory of its samples', () => {
    const u = new UsageSummarizer({ windowMs: 10_000 });
    const holder = () => 'r1';
    u.add([sample(0, 0.2, 100)], holder, 0);
    u.add([sample(0, 0.4, 300)], holder, 5_000);
    expect(u.pending()).toEqual([]);
    u.add([sample(0, 1, 500)], holder, 10_000);
    expect(u.pending()).toEqual([
      { gpuIndex: 0, replicaId: 'r1', from: 0, to: 10_000, samples: 2, activity: expect.closeTo(0.3, 9), memoryUsedMiB: 200, memoryUsedMaxMiB: 300, used: true },
    ]);
  });

  it('closes a window when the holder changes, so a window never mixes two holders', () => {
    const u = new UsageSummarizer({ windowMs: 60_000 });
    let holder: string | null = 'r1';
    u.add([sample(0, 0.9, 600)], () => holder, 0);
    holder = null;
    u.add([sample(0, 0, 0)], () => holder, 2_000);
    u.add([sample(0, 0, 0)], () => holder, 4_000);
    holder = 'r2';
    u.add([sample(0, 0.5, 600)], () => holder, 6_000);
    expect(u.pending().map((s) => [s.replicaId, s.from, s.to, s.used])).toEqual([
      ['r1', 0, 2_000, true],
      [null, 2_000, 6_000, false],
    ]);
  });

  it('keeps windows until they are acknowledged, and at most maxPending of them', () => {
    const u = new UsageSummarizer({ windowMs: 1, maxPending: 3 });
    for (let t = 0; t <= 5; t++) u.add([sample(0, 0, 0)], () => null, t);
    expect(u.pending().map((s) => s.from)).toEqual([2, 3, 4]);
    u.acknowledge(2);
    expect(u.pending().map((s) => s.from)).toEqual([4]);
  });

  it('counts a held GPU whose engines sleep but whose memory is taken as used, and keeps the latest sample per GPU', () => {
    const u = new UsageSummarizer({ windowMs: 1000 });
    u.add([sample(0, 0, 200), sample(1, 0, 0)], () => 'r1', 0);
    u.add([sample(0, 0, 200), sample(1, 0, 0)], () => 'r1', 1000);
    expect(u.pending().map((s) => [s.gpuIndex, s.used])).toEqual([[0, true], [1, false]]);
    expect(u.stats().map((s) => [s.gpuIndex, s.at, s.memoryUsedMiB])).toEqual([[0, 1000, 200], [1, 1000, 0]]);
  });
});
