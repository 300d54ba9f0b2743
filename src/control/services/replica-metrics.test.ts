import { afterAll, describe, expect, it } from 'vitest';
import { startSimModel, type SimModel } from '../../sim-model/main.js';
import { createLogger } from '../../observe/logger.js';
import { parseReplicaLoad, readReplicaLoad } from './replica-metrics.js';

describe('reading a replica’s load', () => {
  let sim: SimModel | undefined;
  afterAll(async () => sim?.close());

  it('sums vLLM’s gauges over their label sets', () => {
    const text = [
      '# TYPE vllm:num_requests_running gauge',
      'vllm:num_requests_running{model_name="a"} 3',
      'vllm:num_requests_waiting{model_name="a"} 2',
      'vllm:kv_cache_usage_perc{model_name="a"} 0.25',
      'vllm:request_success_total{model_name="a",finished_reason="stop"} 7',
      'vllm:request_success_total{model_name="a",finished_reason="length"} 5',
      'vllm:num_requests_running_other 99',
    ].join('\n');
    expect(parseReplicaLoad(text)).toEqual({ running: 3, waiting: 2, kvCacheUsage: 0.25, finished: 12 });
    expect(parseReplicaLoad('process_cpu_seconds_total 1\n')).toBeUndefined();
  });

  it('reads SGLang’s and TGI’s names for the same gauges', () => {
    const sglang = [
      'sglang:num_running_reqs{model_name="m",tp_rank="0"} 4',
      'sglang:num_queue_reqs{model_name="m",tp_rank="0"} 6',
      'sglang:token_usage{model_name="m",tp_rank="0"} 0.5',
      'sglang:num_requests_total{model_name="m"} 9',
    ].join('\n');
    expect(parseReplicaLoad(sglang)).toEqual({ running: 4, waiting: 6, kvCacheUsage: 0.5, finished: 9 });
    const tgi = ['# TYPE tgi_batch_current_size gauge', 'tgi_batch_current_size 2', 'tgi_queue_size 3', 'tgi_request_success 11'].join('\n');
    expect(parseReplicaLoad(tgi)).toEqual({ running: 2, waiting: 3, kvCacheUsage: null, finished: 11 });
    // vLLM before v0.10 named its KV-cache gauge after the GPU.
    expect(parseReplicaLoad('vllm:num_requests_running 1\nvllm:gpu_cache_usage_perc 0.75\n')).toEqual({ running: 1, waiting: 0, kvCacheUsage: 0.75, finished: 0 });
  });

  it('reads a live sim-model, counting the requests it finished', async () => {
    sim = await startSimModel({ port: 0, logger: createLogger({ name: 'test', level: 'silent' }), config: { model: 'm', ttftOverheadMs: 1, decodeMsPerToken: 1 } });
    for (let i = 0; i < 3; i++)
      await (await fetch(`${sim.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', prompt: 'hi', max_tokens: 2 }) })).text();
    expect(await readReplicaLoad(sim.url)).toMatchObject({ running: 0, waiting: 0, finished: 3 });
    expect(await readReplicaLoad('http://127.0.0.1:1')).toBeUndefined();
  });
});
