import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, staticTable, type Gateway } from '../../src/gateway/main.js';
import { createStrategy, promptPrefix, rendezvous, VersionPicker } from '../../src/gateway/strategies.js';
import { startSimModel, type SimModel } from '../../src/sim-model/main.js';
import { createLogger } from '../../src/observe/logger.js';

const quiet = createLogger({ name: 'test', level: 'silent' });
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

async function replica(model: string, config: Record<string, unknown> = {}): Promise<SimModel> {
  const sim = await startSimModel({ port: 0, logger: quiet, config: { model, ttftOverheadMs: 1, prefillMsPerToken: 0, decodeMsPerToken: 1, ...config } });
  closers.push(() => sim.close());
  return sim;
}

async function gateway(options: Parameters<typeof startGateway>[0]): Promise<Gateway> {
  const gw = await startGateway({ port: 0, logger: quiet, ...options });
  closers.push(() => gw.close());
  return gw;
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Which replica answered: the sim-model's metrics count requests; simpler, ask each for its success total. */
async function successes(sim: SimModel): Promise<number> {
  const text = await (await fetch(`${sim.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith('vllm:request_success_total{')) total += Number(line.split(' ').at(-1));
  return total;
}

describe('gateway', () => {
  it('routes by model and aggregates /v1/models', async () => {
    const a = await replica('model-a');
    const b = await replica('model-b');
    const gw = await gateway({ table: staticTable({ 'model-a': [a.url], 'model-b': [b.url] }), strategy: 'round-robin' });
    for (const model of ['model-a', 'model-b', 'model-a']) {
      const res = await post(`${gw.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { model: string; usage: { completion_tokens: number } };
      expect(body.model).toBe(model);
      expect(body.usage.completion_tokens).toBe(3);
    }
    expect(await successes(a)).toBe(2);
    expect(await successes(b)).toBe(1);
    const models = (await (await fetch(`${gw.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id).sort()).toEqual(['model-a', 'model-b']);
    const emb = await post(`${gw.url}/v1/embeddings`, { model: 'model-b', input: 'x' });
    expect(emb.status).toBe(200);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/gpufleet_gateway_requests_total\{model="model-a",version="v1",team="none",status="200"[^}]*\} 2/);
    expect(metrics).toMatch(/gpufleet_gateway_generation_tokens_total\{model="model-a",version="v1",team="none"[^}]*\} 6/);
  });

  it('limits requests and tokens per minute per team: 429 with retry-after, other teams unaffected', async () => {
    const a = await replica('model-a');
    const gw = await gateway({
      table: staticTable({ 'model-a': [a.url] }),
      rateLimits: { teams: { slow: { requestsPerMinute: 2 }, thrifty: { tokensPerMinute: 6 } } },
    });
    const ask = (team: string) =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-gpufleet-team': team },
        body: JSON.stringify({ model: 'model-a', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
      });
    expect([(await ask('slow')).status, (await ask('slow')).status]).toEqual([200, 200]);
    const limited = await ask('slow');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(29);
    expect(((await limited.json()) as { error: { code: string; type: string } }).error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    expect((await ask('other')).status).toBe(200);
    // The first answer's prompt and output tokens (over 6) put the team in debt.
    expect((await ask('thrifty')).status).toBe(200);
    const broke = await ask('thrifty');
    expect(broke.status).toBe(429);
    expect(((await broke.json()) as { error: { type: string } }).error.type).toBe('tokens');
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toMatch(/gpufleet_gateway_errors_total\{model="model-a",version="v1",team="slow",reason="rate_limited"[^}]*\} 1/);
  });

  it('answers an unknown model with an OpenAI-style 404, and 503 with no replica', async () => {
    const gw = await gateway({ table: { models: [{ model: 'empty', versions: [{ version: 'v1', weight: 1, replicas: [] }] }] } });
    const res = await post(`${gw.url}/v1/chat/completions`, { model: 'nope', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { message: 'The model `nope` does not exist.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } });
    const none = await post(`${gw.url}/v1/chat/completions`, { model: 'empty', messages: [{ role: 'user', content: 'hi' }] });
    expect(none.status).toBe(503);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('no_replica');
  });

  it('passes a stream through as it comes: the first chunk arrives well before the end', async () => {
    const a = await replica('m', { decodeMsPerToken: 20 });
    const gw = await gateway({ table: staticTable({ m: [a.url] }) });
    const started = performance.now();
    const res = await post(`${gw.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20, stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let firstAt: number | undefined;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      firstAt ??= performance.now() - started;
      text += decoder.decode(value);
    }
    const total = performance.now() - started;
    expect(firstAt!).toBeLessThan(total - 200); // 19 more tokens at 20 ms came after the first
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text.split('\n').filter((l) => l.startsWith('data: {')).length).toBe(23); // role, 20 tokens, finish, usage
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/gpufleet_gateway_time_to_first_token_seconds_count\{[^}]*model="m",version="v1",team="none"[^}]*\} 1/);
    expect(metrics).toMatch(/gpufleet_gateway_inter_token_latency_seconds_count\{[^}]*model="m",version="v1",team="none"[^}]*\} 19/);
    expect(metrics).toMatch(/gpufleet_gateway_generation_tokens_total\{model="m",version="v1",team="none"[^}]*\} 20/);
  });

  it('retries on another replica when one is down before answering', async () => {
    const dead = await replica('m');
    const alive = await replica('m');
    const gw = await gateway({ table: staticTable({ m: [dead.url, alive.url] }), strategy: 'round-robin' });
    // Warm keep-alive connections to both, then kill one.
    for (let i = 0; i < 2; i++) expect((await post(`${gw.url}/v1/completions`, { model: 'm', prompt: 'x', max_tokens: 1 })).status).toBe(200);
    await dead.close();
    for (let i = 0; i < 6; i++) {
      const res = await post(`${gw.url}/v1/completions`, { model: 'm', prompt: `hello ${i}`, max_tokens: 2 });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(2);
    }
    expect(await successes(alive)).toBe(7);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/gpufleet_gateway_retries_total\{model="m",version="v1",team="none"[^}]*\} [1-6]\n/);
  });

  it('keeps a long shared prefix on one replica until the load valve opens', async () => {
    const sims = await Promise.all([0, 1, 2, 3].map(() => replica('m', { decodeMsPerToken: 50 })));
    const gw = await gateway({ table: staticTable({ m: sims.map((s) => s.url) }), strategy: 'prefix-affinity', loadBound: 2, prefixChars: 256 });
    const system = 'You are a careful assistant. '.repeat(40);
    const ask = (i: number) => post(`${gw.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'system', content: system }, { role: 'user', content: `question ${i}` }], max_tokens: 2 });
    // Sequential: no load, so every request goes to the affine replica.
    for (let i = 0; i < 5; i++) expect((await ask(i)).status).toBe(200);
    const counts = await Promise.all(sims.map(successes));
    expect(counts.sort()).toEqual([0, 0, 0, 5]);
    // Concurrent: the affine replica takes least+2 = 3 in flight, then the valve spills the rest.
    const before = await Promise.all(sims.map(successes));
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => ask(100 + i)));
    expect(many.every((r) => r.status === 200)).toBe(true);
    const after = await Promise.all(sims.map(successes));
    const delta = after.map((n, i) => n - before[i]!);
    const affine = before.indexOf(5);
    expect(delta[affine]).toBeGreaterThanOrEqual(3);
    expect(delta[affine]).toBeLessThan(8);
  });
});

describe('strategies', () => {
  const replicas = ['r0', 'r1', 'r2', 'r3'].map((id) => ({ id }));
  it('splits versions by weight (90/10 over 1,000 picks)', () => {
    const picker = new VersionPicker();
    const versions = [
      { version: 'stable', weight: 90 },
      { version: 'canary', weight: 10 },
    ];
    const counts: Record<string, number> = { stable: 0, canary: 0 };
    for (let i = 0; i < 1000; i++) counts[picker.pick('m', versions)!.version]!++;
    expect(counts['canary']).toBeGreaterThanOrEqual(95);
    expect(counts['canary']).toBeLessThanOrEqual(105);
    expect(picker.pick('m', versions, (v) => v.version === 'canary')!.version).toBe('canary');
  });

  it('least-outstanding picks the least loaded, prefix affinity honours the valve', () => {
    const load: Record<string, number> = { r0: 3, r1: 1, r2: 0, r3: 2 };
    const ctx = { outstanding: (id: string) => load[id] ?? 0, group: 'g' };
    expect(createStrategy('least-outstanding').pick(replicas, ctx)!.id).toBe('r2');
    const key = promptPrefix({ messages: [{ role: 'system', content: 'abc' }] }, 100)!;
    expect(key).toBe('<|system|>abc<|end|>');
    const affine = rendezvous(replicas, key)!;
    const pa = createStrategy('prefix-affinity', { loadBound: 2 });
    for (const id of Object.keys(load)) load[id] = 0;
    expect(pa.pick(replicas, { ...ctx, prefixKey: key })!.id).toBe(affine.id);
    load[affine.id] = 2;
    expect(pa.pick(replicas, { ...ctx, prefixKey: key })!.id).toBe(affine.id);
    load[affine.id] = 3;
    // Over the bound, the key spills to its second replica in the ranking, not to the least loaded.
    const second = rendezvous(replicas, key, (r) => r.id !== affine.id);
    const third = rendezvous(replicas, key, (r) => r.id !== affine.id && r.id !== second!.id);
    expect(pa.pick(replicas, { ...ctx, prefixKey: key })!.id).toBe(second!.id);
    load[second!.id] = 3;
    expect(pa.pick(replicas, { ...ctx, prefixKey: key })!.id).toBe(third!.id);
    // Removing another replica does not move the key.
    expect(rendezvous(replicas.filter((r) => r.id === affine.id || r.id !== replicas.find((x) => x.id !== affine.id)!.id), key)!.id).toBe(affine.id);
  });

  it('random picks every replica, as the numbers say', () => {
    const numbers = [0, 0.3, 0.5, 0.99];
    const random = createStrategy('random', { random: () => numbers.shift()! });
    const ctx = { outstanding: () => 0, group: 'g' };
    expect(Array.from({ length: 4 }, () => random.pick(replicas, ctx)!.id)).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(createStrategy('random').pick([], ctx)).toBeUndefined();
  });

  it('round-robin cycles', () => {
    const rr = createStrategy('round-robin');
    const ctx = { outstanding: () => 0, group: 'g' };
    expect(Array.from({ length: 8 }, () => rr.pick(replicas, ctx)!.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r0', 'r1', 'r2', 'r3']);
  });
});
