import type { GpufleetClient } from '../client/api-client.js';
import { idPrefixes } from '../core/ids.js';

const nodeIdPattern = new RegExp(`^${idPrefixes.node}-[0-9a-z]{10}$`);

/**
 * Workloads name their node, but the API allows an id there (e.g. a node deleted since); people
 * know nodes by name, so id-shaped values are looked up. Unknown ids stay as they are.
 */
export function nodeNameResolver(client: Pick<GpufleetClient, 'listNodes'>) {
  const known = new Map<string, string>();
  const missed = new Set<string>();
  return {
    known: known as ReadonlyMap<string, string>,
    /** Fetches the node list when an id is new; a failure is not fatal, as ids are a fine fallback. */
    async resolve(...values: (string | null)[]): Promise<void> {
      const unknown = values.filter((v): v is string => v !== null && nodeIdPattern.test(v) && !known.has(v) && !missed.has(v));
      if (unknown.length === 0) return;
      try {
        for (const node of await client.listNodes()) known.set(node.id, node.name);
      } catch {
        // Keep showing ids.
      }
      for (const id of unknown) if (!known.has(id)) missed.add(id);
    },
  };
}
