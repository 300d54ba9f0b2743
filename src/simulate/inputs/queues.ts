import type { QueueManifest } from '../../core/manifest.js';
import { toQueueQuota } from '../../scheduler/api-quotas.js';
import type { SnapshotQueue } from '../../scheduler/types.js';

/**
 * The queues of `kind: Queue` documents — the file `gpufleet apply -f` takes — as the server's
 * snapshot builds them (ids are the names), so a queue configuration is tried before it is applied.
 */
export function queuesOf(manifests: readonly QueueManifest[]): SnapshotQueue[] {
  const names = new Set(manifests.map((m) => m.metadata.name));
  return manifests.map((m) => {
    const parent = m.spec.parent ?? null;
    if (parent !== null && !names.has(parent)) throw new Error(`queue ${m.metadata.name}: parent queue ${parent} is not in the file`);
    return {
      id: m.metadata.name,
      name: m.metadata.name,
      parentId: parent,
      priority: m.spec.priority,
      quotas: m.spec.quotas.map(toQueueQuota),
      decayedUsage: {},
    };
  });
}
