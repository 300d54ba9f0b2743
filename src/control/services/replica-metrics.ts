/**
 * What the serving loop reads from a replica's Prometheus endpoint: vLLM's gauges of running and
 * waiting requests and KV-cache usage, and the count of finished requests (to see activity between
 * two reads). SGLang and TGI export other names; a replica without these reads as unknown.
 */
export interface ReplicaLoad {
  running: number;
  waiting: number;
  kvCacheUsage: number;
  finished: number;
}

const series: Record<string, keyof ReplicaLoad> = {
  'vllm:num_requests_running': 'running',
  'vllm:num_requests_waiting': 'waiting',
  'vllm:kv_cache_usage_perc': 'kvCacheUsage',
  'vllm:request_success_total': 'finished',
};

/** Sums each series over its label sets (one line per model or finish reason). */
export function parseReplicaLoad(text: string): ReplicaLoad | undefined {
  const load: ReplicaLoad = { running: 0, waiting: 0, kvCacheUsage: 0, finished: 0 };
  let found = false;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, brace === -1 ? line.indexOf(' ') : brace);
    const key = series[name];
    if (key === undefined || space === -1) continue;
    const value = Number(line.slice(space + 1));
    if (!Number.isFinite(value)) continue;
    load[key] += value;
    found ||= key === 'running';
  }
  return found ? load : undefined;
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
