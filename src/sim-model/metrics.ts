import { Counter, Gauge, Histogram, createRegistry, type Registry } from '../observe/metrics.js';
import type { Engine, EngineObserver, FinishReason, SequenceTimings } from './engine.js';

/** vLLM's bucket bounds, so dashboards and gateways built for vLLM read these unchanged. */
const ttftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const interTokenBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const requestBuckets = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

/**
 * The vLLM series a gateway scrapes for load (running, waiting, KV cache usage) and that
 * benchmarks read for latency, under vLLM's names and `model_name` label.
 */
export interface SimModelMetrics {
  registry: Registry;
  /** For the engine's constructor: records latencies and tokens as sequences progress. */
  observer: EngineObserver;
  /** Registers the series read from the engine's state at scrape time. */
  watch(engine: Engine): void;
}

export function createSimModelMetrics(modelName: string): SimModelMetrics {
  const registry = createRegistry('sim-model');
  const labelNames = ['model_name'] as const;
  const labels = { model_name: modelName };
  const histogram = (name: string, help: string, buckets: number[]) =>
    new Histogram({ name, help, labelNames, buckets, registers: [registry] }).labels(labels);
  const ttft = histogram('vllm:time_to_first_token_seconds', 'Time to first token.', ttftBuckets);
  const interToken = histogram('vllm:inter_token_latency_seconds', 'Time between consecutive output tokens.', interTokenBuckets);
  const e2e = histogram('vllm:e2e_request_latency_seconds', 'End-to-end request latency.', requestBuckets);
  const queue = histogram('vllm:request_queue_time_seconds', 'Time spent waiting for admission.', requestBuckets);

  const promptTokens = new Counter({ name: 'vllm:prompt_tokens_total', help: 'Prefill tokens processed.', labelNames, registers: [registry] }).labels(labels);
  const generationTokens = new Counter({ name: 'vllm:generation_tokens_total', help: 'Generation tokens processed.', labelNames, registers: [registry] }).labels(labels);
  const success = new Counter({
    name: 'vllm:request_success_total',
    help: 'Finished requests, by finish reason.',
    labelNames: ['model_name', 'finished_reason'],
    registers: [registry],
  });

  return {
    registry,
    watch(engine: Engine) {
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.set(labels, read());
        },
      });
    };
    gauge('vllm:num_requests_running', 'Number of requests in the running batch.', () => engine.runningCount);
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be admitted.', () => engine.waitingCount);
    gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', () => engine.kv.usage());
    // The name vLLM used before 0.10; gateways of that time still scrape it.
    gauge('vllm:gpu_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage (deprecated name).', () => engine.kv.usage());

    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(labels, read());
        },
      });
    };
    counter('vllm:prefix_cache_queries_total', 'Prompt tokens looked up in the prefix cache.', () => engine.kv.queriedTokens);
    counter('vllm:prefix_cache_hits_total', 'Prompt tokens found in the prefix cache.', () => engine.kv.hitTokens);
    },
    observer: {
      interToken: (ms) => interToken.observe(ms / 1000),
      finished(reason: FinishReason, t: SequenceTimings) {
        ttft.observe(t.ttftMs / 1000);
        e2e.observe(t.e2eMs / 1000);
        queue.observe(t.queueMs / 1000);
        promptTokens.inc(t.promptTokens);
        generationTokens.inc(t.completionTokens);
        success.inc({ model_name: modelName, finished_reason: reason });
      },
    },
  };
}
