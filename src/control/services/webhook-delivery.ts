import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Counter } from '../../observe/metrics.js';
import type { Logger } from '../../observe/logger.js';

export interface WebhookRetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** The wait before the second try; it doubles for each later one. */
  baseDelayMs: number;
  /** How long one try may take before it counts as failed. */
  timeoutMs: number;
}

/** 5 tries: waits of about 3, 6, 12 and 24 s between them (jittered to half of that and up), so given up within about a minute. */
export const defaultWebhookRetryPolicy: WebhookRetryPolicy = { attempts: 5, baseDelayMs: 3000, timeoutMs: 5000 };

/** A receiver's answer worth trying again: it is overloaded (429) or failing (5xx), not refusing the alert. */
const retryableStatus = (status: number) => status === 429 || status >= 500;

/**
 * POSTs JSON to webhooks without holding up whoever hands it over: each delivery retries on its own
 * after a connection error, a timeout, a 5xx or a 429, with exponential backoff and jitter (so
 * several servers' retries do not arrive in step), up to the policy's tries. Every try of one
 * delivery carries the same `x-gpufleet-delivery` id, so a receiver can drop a duplicate whose
 * answer was lost. `deliveries` counts outcomes: `delivered`, or `failed` once given up.
 */
export class WebhookDelivery {
  private readonly pending = new Set<Promise<void>>();
  /** Replaced at each stop: a leader that leads again delivers anew. */
  private stopping = new AbortController();

  constructor(
    private readonly logger: Logger,
    private readonly deliveries: Counter<'outcome'>,
    private readonly policy: WebhookRetryPolicy = defaultWebhookRetryPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** Starts delivering `body` to `url` and returns at once. */
  send(url: string, body: unknown): void {
    const delivery = this.deliver(url, JSON.stringify(body), randomUUID());
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  /** Resolves once every delivery under way has ended, delivered or given up. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** Gives up the deliveries under way (counted as failed) and waits for them to end. */
  async stop(): Promise<void> {
    const stopping = this.stopping;
    this.stopping = new AbortController();
    stopping.abort();
    await this.idle();
  }

  private async deliver(url: string, body: string, id: string): Promise<void> {
    const stopped = this.stopping.signal;
    let problem = '';
    for (let attempt = 1; attempt <= this.policy.attempts && !stopped.aborted; attempt++) {
      if (attempt > 1) {
        const stillRunning = await sleep(this.backoffMs(attempt - 1), true, { signal: stopped }).catch(() => false);
        if (!stillRunning) break;
      }
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-gpufleet-delivery': id },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(this.policy.timeoutMs), stopped]),
        });
        await res.body?.cancel();
        if (res.ok) {
          this.deliveries.inc({ outcome: 'delivered' });
          return;
        }
        problem = `answered ${res.status}`;
        if (!retryableStatus(res.status)) {
          this.logger.warn({ url, status: res.status, delivery: id }, 'alert webhook refused the alert; not retrying');
          this.deliveries.inc({ outcome: 'failed' });
          return;
        }
      } catch (err) {
        problem = (err as Error).message;
      }
      this.logger.debug({ url, attempt, problem, delivery: id }, 'alert webhook try failed');
    }
    this.logger.warn({ url, problem, delivery: id, stopped: stopped.aborted }, 'alert webhook delivery given up');
    this.deliveries.inc({ outcome: 'failed' });
  }

  /** Equal jitter: half the exponential delay, plus up to as much again at random. */
  private backoffMs(retry: number): number {
    const delay = this.policy.baseDelayMs * 2 ** (retry - 1);
    return delay / 2 + (delay / 2) * this.random();
  }
}
