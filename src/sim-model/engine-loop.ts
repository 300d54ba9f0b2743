import type { Engine } from './engine.js';

/**
 * Drives an engine on real time with one timer for all sequences: it sleeps until the next token
 * falls due (at least `minIntervalMs`, so tokens due close together go out in one step), and
 * wakes early when a request arrives.
 */
export class EngineLoop {
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private stopped = false;
  private lastStepAt = -Infinity;

  constructor(
    private readonly engine: Engine,
    private readonly minIntervalMs: number,
  ) {}

  /** Runs a step soon: called on every submission, coalesced into one step per timer tick. */
  wake(): void {
    this.schedule(Math.max(performance.now(), this.lastStepAt + this.minIntervalMs));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.run(), Math.max(0, at - performance.now()));
  }

  private run(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.lastStepAt = performance.now();
    const nextDue = this.engine.step();
    if (nextDue !== undefined) this.schedule(Math.max(nextDue, this.lastStepAt + this.minIntervalMs));
  }
}
