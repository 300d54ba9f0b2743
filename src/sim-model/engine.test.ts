import { describe, expect, it } from 'vitest';
import { parseSimModelConfig, type SimModelConfigInput } from './config.js';
import { Engine, type FinishReason, type SequenceTimings } from './engine.js';
import { outputTokenSource, tokenize } from './tokens.js';

interface Outcome {
  texts: string[];
  tokenTimes: number[];
  timings?: SequenceTimings;
  reason?: FinishReason;
}

function setup(config: SimModelConfigInput = {}) {
  const clock = { t: 0, now: () => clock.t };
  const interTokens: number[] = [];
  const engine = new Engine(
    parseSimModelConfig({ ttftOverheadMs: 10, prefillMsPerToken: 1, decodeMsPerToken: 5, decodeSlowdownAtMaxBatch: 3, maxNumSeqs: 4, kvCacheBlocks: 64, kvBlockSizeTokens: 4, maxModelLen: 256, ...config }),
    clock,
    { interToken: (ms) => interTokens.push(ms), finished: () => {} },
  );
  const submit = (prompt: string, outputTokens = 3): Outcome => {
    const outcome: Outcome = { texts: [], tokenTimes: [] };
    const promptTokens = tokenize(prompt);
    engine.submit({
      promptTokens,
      outputTokens,
      finishReason: 'length',
      nextToken: outputTokenSource(promptTokens, 0),
      sink: {
        tokens(texts) {
          outcome.texts.push(...texts);
          for (const _ of texts) outcome.tokenTimes.push(clock.t);
        },
        finished(reason, timings) {
          outcome.reason = reason;
          outcome.timings = timings;
        },
      },
    });
    return outcome;
  };
  /** Steps at every due time until the engine is idle, as the real loop does. */
  const run = (): void => {
    for (let next = engine.step(); next !== undefined; next = engine.step()) clock.t = Math.max(clock.t, next);
  };
  return { clock, engine, submit, run, interTokens };
}

const words = (n: number, tag = 'w'): string => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');

describe('Engine', () => {
  it('schedules the first token after the overhead plus prefill of every uncached prompt token', () => {
    const { submit, run } = setup();
    const short = submit(words(8, 'a'));
    run();
    const long = submit(words(40, 'b'));
    run();
    expect(short.timings!.ttftMs).toBe(10 + 8 * 1);
    expect(long.timings!.ttftMs).toBe(10 + 40 * 1);
    expect(short.texts).toHaveLength(3);
    expect(short.reason).toBe('length');
  });

  it('prefills prompts admitted together one after another, as they share the GPU', () => {
    const { submit, run } = setup();
    const a = submit(words(40, 'a'));
    const b = submit(words(20, 'b'));
    run();
    expect(a.timings!.ttftMs).toBe(40 + 10);
    // b's prefill starts when a's ends; the overhead is each one's own.
    expect(b.timings!.ttftMs).toBe(40 + 20 + 10);
    // Once the engine has caught up, a new prompt waits for nothing.
    const c = submit(words(8, 'c'));
    run();
    expect(c.timings!.ttftMs).toBe(8 + 10);
  });

  it('serves a repeated prefix from the KV cache and so answers it sooner', () => {
    const { submit, run, engine } = setup();
    const shared = words(32, 'system');
    const first = submit(`${shared} question one`);
    run();
    const second = submit(`${shared} question two`);
    run();
    expect(first.timings!.cachedTokens).toBe(0);
    expect(second.timings!.cachedTokens).toBe(32);
    expect(second.timings!.ttftMs).toBe(10 + 2);
    expect(second.timings!.ttftMs).toBeLessThan(first.timings!.ttftMs);
    expect(engine.kv.hitTokens).toBe(32);
    expect(engine.kv.queriedTokens).toBe(68);
  });

  it('slows decoding as the batch grows', () => {
    const alone = setup();
    alone.submit(words(4), 5);
    alone.run();
    const crowded = setup();
    for (let i = 0; i < 4; i++) crowded.submit(words(4, `p${i}`), 5);
    crowded.run();
    expect(new Set(alone.interTokens)).toEqual(new Set([5]));
    // A full batch of 4 with slowdown 3 spaces tokens 15 ms apart.
    expect(Math.max(...crowded.interTokens)).toBe(15);
  });

  it('keeps requests waiting while the batch is full and admits them as others finish', () => {
    const { submit, run, engine, clock } = setup();
    const outcomes = Array.from({ length: 6 }, (_, i) => submit(words(4, `q${i}`), 2));
    engine.step();
    expect(engine.runningCount).toBe(4);
    expect(engine.waitingCount).toBe(2);
    run();
    expect(engine.runningCount).toBe(0);
    expect(engine.waitingCount).toBe(0);
    expect(outcomes.every((o) => o.texts.length === 2)).toBe(true);
    expect(outcomes[5]!.timings!.queueMs).toBeGreaterThan(0);
    expect(clock.t).toBeGreaterThan(0);
  });

  it('admits only what the KV cache can hold', () => {
    // 8 blocks of 4 tokens; each request needs 4 prompt + 12 output tokens = 4 blocks.
    const { submit, engine, run } = setup({ kvCacheBlocks: 8, maxModelLen: 32 });
    submit(words(4, 'x'), 12);
    submit(words(4, 'y'), 12);
    submit(words(4, 'z'), 12);
    engine.step();
    expect(engine.runningCount).toBe(2);
    expect(engine.waitingCount).toBe(1);
    expect(engine.kv.usage()).toBe(1);
    run();
    expect(engine.kv.usage()).toBe(0);
  });

  it('frees a cancelled sequence at once', () => {
    const { engine, clock } = setup();
    const promptTokens = tokenize(words(8));
    const handle = engine.submit({ promptTokens, outputTokens: 50, finishReason: 'length', nextToken: () => 'x', sink: { tokens() {}, finished() {} } });
    engine.step();
    expect(engine.runningCount).toBe(1);
    handle.cancel();
    clock.t = 1000;
    expect(engine.step()).toBeUndefined();
    expect(engine.kv.usage()).toBe(0);
  });
});
