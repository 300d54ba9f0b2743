import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';

export { Registry, Counter, Gauge, Histogram };

/** One registry per process (not the global one) so that several processes in one test run stay apart. */
export function createRegistry(processName: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry, prefix: 'gpufleet_' });
  return registry;
}

export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';
