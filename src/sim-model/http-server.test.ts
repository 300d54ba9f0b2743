import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { SimModelConfigInput } from './config.js';
import { startSimModel, type SimModel } from './main.js';

const fast: SimModelConfigInput = { model: 'sim', ttftOverheadMs: 2, prefillMsPerToken: 0.01, decodeMsPerToken: 1, defaultMaxTokens: 5 };
const started: SimModel[] = [];

async function start(config: SimModelConfigInput = {}): Promise<SimModel> {
  const sim = await startSimModel({ port: 0, config: { ...fast, ...config }, logger: pino({ level: 'silent' }) });
  started.push(sim);
  return sim;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

const post = (url: string, body: unknown): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// Response bodies are checked field by field below; typing each OpenAI shape would add nothing.
const json = (res: Response | Promise<Response>): Promise<any> => Promise.resolve(res).then((r) => r.json());

const chat = (content: string, extra: object = {}) => ({ model: 'sim', messages: [{ role: 'user', content }], ...extra });

describe('sim-model HTTP server', () => {
  it('streams chat tokens as server-sent events, ending with usage and [DONE]', async () => {
    const sim = await start();
    const res = await post(`${sim.url}/v1/chat/completions`, chat('hello there', { stream: true, max_tokens: 4, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = (await res.text()).split('\n\n').filter((e) => e !== '');
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const content = chunks.filter((c) => c.choices[0]?.delta?.content);
    expect(content).toHaveLength(4);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1).usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
  });

  it('answers whole chat and text completions with usage', async () => {
    const sim = await start();
    const res = await post(`${sim.url}/v1/chat/completions`, chat('hello'));
    const body = await json(res);
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0].message.content.split(' ')).toHaveLength(5);
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(body.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });

    const text = await json(post(`${sim.url}/v1/completions`, { model: 'sim', prompt: 'one two three', max_tokens: 3 }));
    expect(text.object).toBe('text_completion');
    expect(text.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3 });
    expect(text.choices[0].finish_reason).toBe('length');
  });

  it('lists its model and refuses other models and bad input OpenAI-style', async () => {
    const sim = await start();
    const models = await json(fetch(`${sim.url}/v1/models`));
    expect(models.data.map((m: { id: string }) => m.id)).toEqual(['sim']);

    const wrong = await post(`${sim.url}/v1/chat/completions`, { ...chat('x'), model: 'gpt-9' });
    expect(wrong.status).toBe(404);
    expect((await json(wrong)).error.code).toBe('model_not_found');

    const bad = await post(`${sim.url}/v1/chat/completions`, chat('x', { max_tokens: -1 }));
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.param).toBe('max_tokens');

    const tooLong = await post(`${sim.url}/v1/completions`, { model: 'sim', prompt: 'x', max_tokens: 100_000 });
    expect(tooLong.status).toBe(400);
    expect((await json(tooLong)).error.code).toBe('context_length_exceeded');
  });

  it('returns deterministic unit embeddings of the configured dimension', async () => {
    const sim = await start({ embeddingDimension: 8 });
    const body = await json(post(`${sim.url}/v1/embeddings`, { model: 'sim', input: ['a b', 'a b', 'c'] }));
    const [a, b, c] = body.data.map((d: { embedding: number[] }) => d.embedding);
    expect(a).toHaveLength(8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(Math.hypot(...a)).toBeCloseTo(1);
    expect(body.usage.prompt_tokens).toBe(5);
  });

  it('exposes vLLM metrics that reflect the traffic, prefix hits included', async () => {
    const sim = await start({ kvBlockSizeTokens: 4 });
    const prompt = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
    for (let i = 0; i < 2; i++) await json(post(`${sim.url}/v1/completions`, { model: 'sim', prompt, max_tokens: 3 }));
    const text = await (await fetch(`${sim.url}/metrics`)).text();
    const value = (series: string): number => Number(new RegExp(`^${series}\\{[^}]*model_name="sim"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('vllm:num_requests_running')).toBe(0);
    expect(value('vllm:num_requests_waiting')).toBe(0);
    expect(value('vllm:kv_cache_usage_perc')).toBe(0);
    expect(value('vllm:prefix_cache_queries_total')).toBe(80);
    expect(value('vllm:prefix_cache_hits_total')).toBe(40);
    expect(value('vllm:time_to_first_token_seconds_count')).toBe(2);
    expect(value('vllm:inter_token_latency_seconds_count')).toBe(4);
    expect(value('vllm:generation_tokens_total')).toBe(6);
  });

  it('fails every request with the configured status at error rate 1', async () => {
    const sim = await start({ faults: { errorRate: 1, errorStatus: 429 } });
    for (let i = 0; i < 3; i++) {
      const res = await post(`${sim.url}/v1/chat/completions`, chat('x'));
      expect(res.status).toBe(429);
      expect((await json(res)).error.code).toBe('injected_fault');
    }
  });

  it('is unhealthy until the startup delay has passed', async () => {
    const sim = await start({ faults: { startupDelayMs: 150 } });
    expect((await fetch(`${sim.url}/health`)).status).toBe(503);
    expect((await post(`${sim.url}/v1/chat/completions`, chat('x'))).status).toBe(503);
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${sim.url}/health`)).status).toBe(200);
  });

  it('stops answering after crash-after-requests', async () => {
    const sim = await start({ faults: { crashAfterRequests: 2 } });
    for (let i = 0; i < 2; i++) expect((await post(`${sim.url}/v1/completions`, { model: 'sim', prompt: 'x', max_tokens: 1 })).status).toBe(200);
    await expect(post(`${sim.url}/v1/completions`, { model: 'sim', prompt: 'x', max_tokens: 1 })).rejects.toThrow();
    await expect(fetch(`${sim.url}/health`)).rejects.toThrow();
  });

  it('finishes in-flight streams before closing', async () => {
    const sim = await start({ decodeMsPerToken: 5 });
    const pending = post(`${sim.url}/v1/chat/completions`, chat('x', { stream: true, max_tokens: 20 }));
    const res = await pending;
    const closed = sim.close();
    const text = await res.text();
    await closed;
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});
