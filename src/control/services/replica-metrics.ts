/**
 * What the serving loop reads from a replica's Prometheus endpoint: requests running and waiting,
 * KV-cache usage, and the count of finished requests (to see activity between two reads). The
 * common model servers name these differently; each name below is read wherever it appears, so a
 * replica may run any of them. A replica that reports none of the running-request gauges reads as
 * unknown.
 */
export interface ReplicaLoad {
  running: number;
  waiting: number;
  /** Share of the KV cache in use, 0..1; null when the server does not report it (TGI). */
  kvCacheUsage: number | null;
  finished: number;
}

const series: Record<string, keyof ReplicaLoad> = {
  // vLLM (`gpu_cache_usage_perc` before v0.10, `kv_cache_usage_perc` since).
  'vllm:num_requests_running': 'running',
  'vllm:num_requests_waiting': 'waiting',
  'vllm:kv_cache_usage_perc': 'kvCacheUsage',
  'vllm:gpu_cache_usage_perc': 'kvCacheUsage',
  'vllm:request_success_total': 'finished',
  // SGLang (with --enable-metrics): token_usage is the share of KV-cache tokens in use.
  'sglang:num_running_reqs': 'running',
  'sglang:num_queue_reqs': 'waiting',
  'sglang:token_usage': 'kvCacheUsage',
  'sglang:num_requests_total': 'finished',
  // Hugging Face TGI: the current batch is what runs; it has no KV-cache share.
  tgi_batch_current_size: 'running',
  tgi_queue_size: 'waiting',
  tgi_request_success: 'finished',
};

/** Sums each series over its label sets (one line per model or finish reason). */
export function parseReplicaLoad(text: string): ReplicaLoad | undefined {
  let running = 0;
  let waiting = 0;
  let kvCacheUsage: number | null = null;
  let finished = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const key = series[line.slice(0, brace === -1 ? line.indexOf(' ') : brace)];
    if (key === undefined || space === -1) continue;
    const value = Number(line.slice(space + 1));
    if (!Number.isFinite(value)) continue;
    if (key === 'running') {
      running += value;
      found = true;
    } else if (key === 'waiting') waiting += value;
    else if (key === 'kvCacheUsage') kvCacheUsage = (kvCacheUsage ?? 0) + value;
    else finished += value;
  }
  return found ? { running, waiting, kvCacheUsage, finished } : undefined;
}

export async function readReplicaLoad(url: string, timeoutMs = 1000): Promise<ReplicaLoad | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    return parseReplicaLoad(await res.text());
  } catch {
    return undefined;
  }
}
