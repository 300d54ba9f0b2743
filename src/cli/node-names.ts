import type { GpufleetClient } from '../client/api-client.js';

/** Workloads name their node by id; people know nodes by name. Unknown ids stay as they are. */
export function nodeNameResolver(client: Pick<GpufleetClient, 'listNodes'>) {
  const known = new Map<string, string>();
  const missed = new Set<string>();
  return {
    known: known as ReadonlyMap<string, string>,
    /** Fetches the node list when an id is new; a failure (e.g. a member may not list nodes) is not fatal. */
    async resolve(...ids: (string | null)[]): Promise<void> {
      const unknown = ids.filter((id): id is string => id !== null && !known.has(id) && !missed.has(id));
      if (unknown.length === 0) return;
      try {
        for (const node of await client.listNodes()) known.set(node.id, node.name);
      } catch {
        // Ids are a fine fallback for names.
      }
      for (const id of unknown) if (!known.has(id)) missed.add(id);
    },
  };
}
