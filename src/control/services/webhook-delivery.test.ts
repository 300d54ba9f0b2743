import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Counter, Registry } from '../../observe/metrics.js';
import { createLogger } from '../../observe/logger.js';
import { LocalHttpServer } from '../../../test/support/local-http-server.js';
import { WebhookDelivery } from './webhook-delivery.js';

/** Answers each POST with the next status of its script (the last one repeated), keeping what it got. */
class ScriptedReceiver extends LocalHttpServer {
  readonly received: Array<{ at: number; delivery: string; body: unknown }> = [];

  constructor(private readonly statuses: number[]) {
    super();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const status = this.statuses[Math.min(this.received.length, this.statuses.length - 1)]!;
    this.received.push({ at: Date.now(), delivery: String(req.headers['x-gpufleet-delivery']), body: JSON.parse(text) });
    res.writeHead(status).end();
  }
}

const quiet = createLogger({ name: 'test', level: 'silent' });
const policy = { attempts: 5, baseDelayMs: 40, timeoutMs: 2000 };
const servers: LocalHttpServer[] = [];
afterEach(async () => {
  while (servers.length > 0) await servers.pop()!.stop();
});

async function receiver(statuses: number[]): Promise<ScriptedReceiver> {
  const r = new ScriptedReceiver(statuses);
  await r.start();
  servers.push(r);
  return r;
}

function delivery(random = () => 0.5) {
  const deliveries = new Counter({ name: 'deliveries_total', help: 'test', labelNames: ['outcome'] as const, registers: [new Registry()] });
  const webhooks = new WebhookDelivery(quiet, deliveries, policy, random);
  const outcomes = async () => Object.fromEntries((await deliveries.get()).values.map((v) => [v.labels.outcome, v.value]));
  return { webhooks, outcomes };
}

describe('webhook delivery', () => {
  it('retries a receiver that fails twice, with growing waits, until it accepts, without holding up the sender', async () => {
    const flaky = await receiver([503, 502, 200]);
    const { webhooks, outcomes } = delivery();
    webhooks.send(flaky.url, { alert: 'page' });
    // send() returns before the first try reaches the receiver
    expect(flaky.received).toHaveLength(0);
    await webhooks.idle();
    expect(flaky.received.map((r) => r.body)).toEqual([{ alert: 'page' }, { alert: 'page' }, { alert: 'page' }]);
    // one delivery id across its tries
    expect(new Set(flaky.received.map((r) => r.delivery)).size).toBe(1);
    // waits at random 0.5: 0.75 × 40 = 30 ms, then 0.75 × 80 = 60 ms
    const [first, second, third] = flaky.received.map((r) => r.at);
    expect(second! - first!).toBeGreaterThanOrEqual(29);
    expect(third! - second!).toBeGreaterThanOrEqual(59);
    expect(await outcomes()).toEqual({ delivered: 1 });
  });

  it('gives up on a receiver that never accepts after the policy’s tries, within the backoff’s bound', async () => {
    const down = await receiver([500]);
    const { webhooks, outcomes } = delivery(() => 1);
    const started = Date.now();
    webhooks.send(down.url, { alert: 'ticket' });
    await webhooks.idle();
    expect(down.received).toHaveLength(5);
    // at random 1 the waits are the whole delays: 40 + 80 + 160 + 320 ms
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(await outcomes()).toEqual({ failed: 1 });
  });

  it('retries 429 and an unreachable receiver, but not a refusal', async () => {
    const busy = await receiver([429, 200]);
    const refusing = await receiver([400]);
    const gone = await receiver([200]);
    const goneUrl = gone.url;
    await servers.pop()!.stop();
    const { webhooks, outcomes } = delivery();
    webhooks.send(busy.url, {});
    webhooks.send(refusing.url, {});
    webhooks.send(goneUrl, {});
    await webhooks.idle();
    expect(busy.received).toHaveLength(2);
    expect(refusing.received).toHaveLength(1);
    expect(await outcomes()).toEqual({ delivered: 1, failed: 2 });
  });

  it('gives up what is still retrying when stopped, and delivers again after', async () => {
    const down = await receiver([500, 500, 500, 500, 200, 200]);
    const { webhooks, outcomes } = delivery();
    webhooks.send(down.url, {});
    await new Promise((r) => setTimeout(r, 20));
    await webhooks.stop();
    expect(down.received.length).toBeLessThan(5);
    expect(await outcomes()).toEqual({ failed: 1 });
    const ok = await receiver([200]);
    webhooks.send(ok.url, {});
    await webhooks.idle();
    expect(await outcomes()).toEqual({ failed: 1, delivered: 1 });
  });
});
