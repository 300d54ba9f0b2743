import type { Quota } from '../core/api-types.js';
import { gpuKey } from './resources.js';
import type { QueueQuota, ResourceKey } from './types.js';

/**
 * The scheduler counts resources by key (`gpu`, `gpu/<model>`, `cpu`, `memory` in MiB); the API
 * speaks of quotas per resource (`gpus` of a model, `cpus`, `memory` in GiB). These turn one into
 * the other, so the snapshot and the applier's checks count alike.
 */

export function quotaKey(q: Pick<Quota, 'resource' | 'gpuModel'>): ResourceKey {
  if (q.resource === 'cpus') return 'cpu';
  if (q.resource === 'memory') return 'memory';
  return q.gpuModel === '*' ? 'gpu' : gpuKey(q.gpuModel);
}

/** An API quota as the scheduler reads it; memory quotas are GiB in the API and MiB in the scheduler. */
export function toQueueQuota(q: Quota): QueueQuota {
  const scale = q.resource === 'memory' ? 1024 : 1;
  return {
    resource: quotaKey(q),
    guaranteed: q.guaranteed * scale,
    limit: q.limit === null ? null : q.limit * scale,
    overQuotaWeight: q.overQuotaWeight,
    lendingLimit: q.lendingLimit === null ? null : q.lendingLimit * scale,
  };
}
