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

  it('reads a live sim-model, counting the requests it finished', async () => {
    sim = await startSimModel({ port: 0, logger: createLogger({ name: 'test', level: 'silent' }), config: { model: 'm', ttftOverheadMs: 1, decodeMsPerToken: 1 } });
    for (let i = 0; i < 3; i++)
      await (await fetch(`${sim.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', prompt: 'hi', max_tokens: 2 }) })).text();
    expect(await readReplicaLoad(sim.url)).toMatchObject({ running: 0, waiting: 0, finished: 3 });
    expect(await readReplicaLoad('http://127.0.0.1:1')).toBeUndefined();
  });
});
