import type { SimModelConfig } from './config.js';
import { seededRandom } from '../core/seeded-random.js';

/**
 * Decides, per inference request, whether to fail it, and when the server should crash.
 * Draws come from the configured seed, so a test sees the same failures on every run.
 */
export class FaultInjector {
  private readonly random: () => number;
  private requests = 0;
  private readonly readyAt: number;

  constructor(
    private readonly faults: SimModelConfig['faults'],
    seed: number,
    startedAt: number,
  ) {
    this.random = seededRandom(seed ^ 0x5eed);
    this.readyAt = startedAt + faults.startupDelayMs;
  }

  ready(now: number): boolean {
    return now >= this.readyAt;
  }

  /** Counts an inference request; true when it is the one past `crashAfterRequests`, which crashes the server. */
  countRequest(): boolean {
    this.requests++;
    return this.faults.crashAfterRequests !== undefined && this.requests > this.faults.crashAfterRequests;
  }

  /** The status to fail this request with, or undefined to serve it. */
  errorStatus(): number | undefined {
    if (this.faults.errorRate === 0) return undefined;
    return this.random() < this.faults.errorRate ? this.faults.errorStatus : undefined;
  }
}
