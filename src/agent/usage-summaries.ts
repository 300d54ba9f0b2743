import type { GpuStat, GpuUsageSummary } from '../core/agent-protocol.js';
import type { GpuSample } from './gpu-telemetry.js';

/**
 * Turns the agent's GPU samples into what the server keeps (docs/gpu-telemetry.md, "Summaries"):
 * per GPU, one summary per window of at most `windowMs` during which one replica (or none) held
 * it, with the mean engine activity and memory. A window closes when it is full or the holder
 * changes; closed windows wait here until a heartbeat carrying them is answered.
 */

export interface UsageSummarizerOptions {
  windowMs: number;
  /** Closed windows kept while the server does not answer; the oldest go first. */
  maxPending?: number;
}

interface OpenWindow {
  replicaId: string | null;
  from: number;
  samples: number;
  activitySum: number;
  memorySum: number;
  memoryMax: number;
  memoryTotal: number;
}

/** A GPU counts as used when a process is on it: engine activity, or at least this share of its memory taken. */
const usedMemoryShare = 0.01;
const usedActivity = 0.01;

export class UsageSummarizer {
  private readonly open = new Map<number, OpenWindow>();
  private closed: GpuUsageSummary[] = [];
  private latest: GpuStat[] = [];
  private readonly maxPending: number;

  constructor(private readonly options: UsageSummarizerOptions) {
    this.maxPending = options.maxPending ?? 20_000;
  }

  /** One sample of every GPU at `t` (ms), with the replica holding each. */
  add(samples: readonly GpuSample[], holderOf: (index: number) => string | null, t: number): void {
    this.latest = samples.map((s) => ({
      gpuIndex: s.index,
      at: t,
      utilPct: s.utilPct,
      activity: s.grEngineActive,
      memoryUsedMiB: s.fbUsedMiB,
      memoryTotalMiB: s.fbTotalMiB,
      powerW: s.powerW,
      tempC: s.tempC,
    }));
    for (const s of samples) {
      const replicaId = holderOf(s.index);
      const current = this.open.get(s.index);
      if (current && (current.replicaId !== replicaId || t - current.from >= this.options.windowMs)) this.close(s.index, current, t);
      const window = this.open.get(s.index) ?? this.start(s.index, replicaId, t);
      // A field the GPU cannot report counts as zero rather than dropping the sample from the window.
      window.samples++;
      window.activitySum += s.grEngineActive ?? 0;
      window.memorySum += s.fbUsedMiB ?? 0;
      window.memoryMax = Math.max(window.memoryMax, s.fbUsedMiB ?? 0);
      window.memoryTotal = s.fbTotalMiB ?? window.memoryTotal;
    }
  }

  /** Closed windows not yet acknowledged, oldest first. */
  pending(): GpuUsageSummary[] {
    return this.closed.slice();
  }

  /** The server stored the first `count` pending windows. */
  acknowledge(count: number): void {
    this.closed = this.closed.slice(count);
  }

  /** The latest sample of each GPU. */
  stats(): GpuStat[] {
    return this.latest;
  }

  private start(index: number, replicaId: string | null, t: number): OpenWindow {
    const window: OpenWindow = { replicaId, from: t, samples: 0, activitySum: 0, memorySum: 0, memoryMax: 0, memoryTotal: 0 };
    this.open.set(index, window);
    return window;
  }

  private close(index: number, w: OpenWindow, t: number): void {
    this.open.delete(index);
    if (t <= w.from) return;
    const activity = w.activitySum / w.samples;
    this.closed.push({
      gpuIndex: index,
      replicaId: w.replicaId,
      from: w.from,
      to: t,
      samples: w.samples,
      activity: Math.min(1, Math.max(0, activity)),
      memoryUsedMiB: w.memorySum / w.samples,
      memoryUsedMaxMiB: w.memoryMax,
      used: activity >= usedActivity || (w.memoryTotal > 0 && w.memoryMax >= usedMemoryShare * w.memoryTotal),
    });
    if (this.closed.length > this.maxPending) this.closed = this.closed.slice(this.closed.length - this.maxPending);
  }
}
