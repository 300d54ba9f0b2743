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
 * A queue's runs still going, summed so that their decayed use at any time is O(1) to read: a run
 * started at s weighs 1 − 2^((s − now)/H) at `now`, so the queue's use is Σa − 2^((origin − now)/H)
 * · Σa·2^((s − origin)/H). The origin moves up to `now` once it lags a half-life behind, which
 * keeps the scaled terms within [0, 2] per unit held and the difference's rounding small.
 */
interface RunningSums {
  runs: number;
  amounts: Amounts;
  scaled: Amounts;
}

/**
 * Each queue's time-decayed use at simulated times that only move forward, weighed as the control
 * plane's snapshot weighs its replicas (src/core/decayed-usage.ts): every run, finished or not,
 * counts its amounts × `decayedWeight(start, end, now)`, and a run that ended before the usage
 * horizon is left out. Finished runs all decay by the same factor, so their sum is kept per queue
 * and scaled as time moves instead of summing every run again each cycle; runs that leave the
 * horizon are taken out in the order they ended. Running runs are kept as two sums per queue
 * (`RunningSums`), so reading the use costs O(queues), not O(running runs): a replay reads it at
 * every cycle with thousands of runs going.
 */
export class DecayedUsage {
  private readonly finished = new Map<string, Amounts>();
  private readonly inHorizon: FinishedRun[] = [];
  private horizonHead = 0;
  private readonly running = new Map<string, RunningSums>();
  private origin = 0;
  private now = -Infinity;

  constructor(private readonly halfLifeMs: number) {}

  /** A run started at its `startMs` (not before the last time asked about). */
  start(run: UsageRun): void {
    this.advance(run.startMs);
    let sums = this.running.get(run.queue);
    if (!sums) this.running.set(run.queue, (sums = { runs: 0, amounts: {}, scaled: {} }));
    sums.runs++;
    addAmounts(sums.amounts, run.amounts);
    addAmounts(sums.scaled, run.amounts, this.scale(run.startMs));
  }

  /** A run given to `start` ended at `endMs` (not before the last time asked about). */
  finish(run: UsageRun, endMs: number): void {
    this.advance(endMs);
    const sums = this.running.get(run.queue);
    if (!sums || sums.runs === 0) throw new Error(`decayed usage: a run of ${run.queue} ended but none is running`);
    if (--sums.runs === 0) {
      // Exact zeros again, so rounding left by many starts and ends does not add up.
      sums.amounts = {};
      sums.scaled = {};
    } else {
      addAmounts(sums.amounts, run.amounts, -1);
      addAmounts(sums.scaled, run.amounts, -this.scale(run.startMs));
    }
    this.charge(this.finished, run, decayedWeight(run.startMs, endMs, endMs, this.halfLifeMs));
    this.inHorizon.push({ ...run, endMs });
  }

  /** Decayed use per queue at `nowMs`, counting the runs still going. */
  usageAt(nowMs: number): Map<string, Amounts> {
    this.advance(nowMs);
    const usage = new Map<string, Amounts>();
    for (const [q, a] of this.finished) usage.set(q, { ...a });
    if (!(this.halfLifeMs > 0)) return usage; // as decayedWeight: no half-life, no past use
    const back = decayFactor(nowMs - this.origin, this.halfLifeMs);
    for (const [q, sums] of this.running) {
      if (sums.runs === 0) continue;
      let amounts = usage.get(q);
      if (!amounts) usage.set(q, (amounts = {}));
      for (const key in sums.amounts) {
        // Σa·(1 − 2^((s − now)/H)) can come out a rounding error under 0 when every run just started.
        const weighed = Math.max(0, sums.amounts[key]! - back * sums.scaled[key]!);
        amounts[key] = (amounts[key] ?? 0) + weighed;
      }
    }
    return usage;
  }

  /** 2^((startMs − origin)/H): a run's term in `RunningSums.scaled`, per unit held. */
  private scale(startMs: number): number {
    return decayFactor(this.origin - startMs, this.halfLifeMs);
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
    this.moveOrigin(nowMs);
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

  private moveOrigin(nowMs: number): void {
    if (!(this.halfLifeMs > 0) || nowMs - this.origin < this.halfLifeMs) return;
    const f = decayFactor(nowMs - this.origin, this.halfLifeMs);
    for (const sums of this.running.values()) for (const key in sums.scaled) sums.scaled[key]! *= f;
    this.origin = nowMs;
  }
}
