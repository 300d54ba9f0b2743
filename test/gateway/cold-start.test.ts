import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway, type RoutingTableSnapshot } from '../../src/gateway/main.js';
import { startSimModel } from '../../src/sim-model/main.js';
import { createLogger } from '../../src/observe/logger.js';

const quiet = createLogger({ name: 'test', level: 'silent' });
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

const table = (urls: string[]): RoutingTableSnapshot => ({
  models: [{ model: 'lazy', holdWhenEmpty: true, versions: [{ version: 'v1', weight: 100, replicas: urls.map((url, i) => ({ id: `r${i}`, url })) }] }],
});
const ask = (gw: Gateway) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'lazy', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }) });

async function gateway(coldStart: { maxHeld?: number; timeoutMs?: number }): Promise<Gateway> {
  const gw = await startGateway({ port: 0, logger: quiet, table: table([]), coldStart });
  closers.push(() => gw.close());
  return gw;
}

describe('cold start at the gateway', () => {
  it('holds requests for a model with no replica and serves them when one arrives', async () => {
    const gw = await gateway({ timeoutMs: 30_000 });
    const pending = [ask(gw), ask(gw), ask(gw)];
    await new Promise((r) => setTimeout(r, 300));
    const sim = await startSimModel({ port: 0, logger: quiet, config: { model: 'lazy', ttftOverheadMs: 1, decodeMsPerToken: 1 } });
    closers.push(() => sim.close());
    gw.setTable(table([sim.url]));
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(((await answers[0]!.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(2);
  });

  it('answers 503 cold_start_timeout after the timeout, and refuses at once beyond the bound', async () => {
    const gw = await gateway({ timeoutMs: 500, maxHeld: 2 });
    const started = Date.now();
    const held = [ask(gw), ask(gw)];
    await new Promise((r) => setTimeout(r, 100));
    const over = await ask(gw);
    expect(over.status).toBe(503);
    expect(over.headers.get('retry-after')).toBe('5');
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('cold_start_queue_full');
    const timedOut = await Promise.all(held);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(timedOut.map((r) => r.status)).toEqual([503, 503]);
    expect(((await timedOut[0]!.json()) as { error: { code: string } }).error.code).toBe('cold_start_timeout');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/gpufleet_gateway_errors_total\{model="lazy",version="v1",team="none",reason="cold_start_timeout"[^}]*\} 2/);
  });

  it('answers 503 no_replica at once for a model that is not held', async () => {
    const gw = await startGateway({ port: 0, logger: quiet, table: { models: [{ model: 'lazy', versions: [{ version: 'v1', weight: 1, replicas: [] }] }] } });
    closers.push(() => gw.close());
    const res = await ask(gw);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_replica');
  });
});
