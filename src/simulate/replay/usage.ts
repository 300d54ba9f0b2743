import { decayFactor, decayedWeight, usageHorizonStart } from '../../core/decayed-usage.js';
import { addAmounts, type Amounts } from '../../scheduler/resources.js';

/** One run of a job as the control plane reads a replica row back: its queue, what it held, when. */
export interface UsageRun {
  queue: string;
  /** What the run charged its queue (`allocationAmounts` of its allocation). */
  amounts: Amounts;
  startMs: number;
}

interface FinishedRun extends UsageRun {
  endMs: number;
}

/**
 * Each queue's time-decayed use at simulated times that only move forward, weighed as the control
 * plane's snapshot weighs its replicas (src/core/decayed-usage.ts): every run, finished or not,
 * counts its amounts × `decayedWeight(start, end, now)`, and a run that ended before the usage
 * horizon is left out. Finished runs all decay by the same factor, so their sum is kept per queue
 * and scaled as time moves instead of summing every run again each cycle; runs that leave the
 * horizon are taken out in the order they ended.
 */
export class DecayedUsage {
  private readonly finished = new Map<string, Amounts>();
  private readonly inHorizon: FinishedRun[] = [];
  private horizonHead = 0;
  private now = -Infinity;

  constructor(private readonly halfLifeMs: number) {}

  /** A run ended at `endMs` (not before the last time asked about). */
  finish(run: UsageRun, endMs: number): void {
    this.advance(endMs);
    this.charge(this.finished, run, decayedWeight(run.startMs, endMs, endMs, this.halfLifeMs));
    this.inHorizon.push({ ...run, endMs });
  }

  /** Decayed use per queue at `nowMs`, counting the runs still going. */
  usageAt(nowMs: number, running: Iterable<UsageRun>): Map<string, Amounts> {
    this.advance(nowMs);
    const usage = new Map<string, Amounts>();
    for (const [q, a] of this.finished) usage.set(q, { ...a });
    for (const r of running) this.charge(usage, r, decayedWeight(r.startMs, nowMs, nowMs, this.halfLifeMs));
    return usage;
  }

  private charge(into: Map<string, Amounts>, run: UsageRun, weight: number): void {
    if (weight <= 0) return;
    let amounts = into.get(run.queue);
    if (!amounts) into.set(run.queue, (amounts = {}));
    addAmounts(amounts, run.amounts, weight);
  }

  private advance(nowMs: number): void {
    if (nowMs < this.now) throw new Error(`decayed usage: time went back from ${this.now} to ${nowMs}`);
    if (nowMs === this.now) return;
    if (this.now !== -Infinity) {
      const f = decayFactor(nowMs - this.now, this.halfLifeMs);
      for (const amounts of this.finished.values()) for (const key in amounts) amounts[key]! *= f;
    }
    this.now = nowMs;
    const from = usageHorizonStart(nowMs, this.halfLifeMs);
    while (this.horizonHead < this.inHorizon.length && this.inHorizon[this.horizonHead]!.endMs <= from) {
      const r = this.inHorizon[this.horizonHead++]!;
      const amounts = this.finished.get(r.queue)!;
      const weight = decayedWeight(r.startMs, r.endMs, nowMs, this.halfLifeMs);
      // What is left can dip a rounding error under 0; use is never negative.
      for (const key in r.amounts) amounts[key] = Math.max(0, amounts[key]! - r.amounts[key]! * weight);
    }
    if (this.horizonHead > 1024 && this.horizonHead * 2 > this.inHorizon.length) {
      this.inHorizon.splice(0, this.horizonHead);
      this.horizonHead = 0;
    }
  }
}
