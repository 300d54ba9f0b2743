import { clusterLabel, type ClusterSpec } from '../../core/cluster-types.js';
import { memoryFromModel } from '../../core/gpu-models.js';
import { newId, idPrefixes } from '../../core/ids.js';
import type { InventoryNode } from '../../executors/spi.js';
import { listClusterNodes, lockLiveCluster, upsertClusterNode } from '../../store/clusters-repo.js';
import { setNodeState } from '../../store/nodes-repo.js';
import { insertEvents } from '../../store/events-repo.js';
import { inTransaction } from '../../store/transaction.js';
import type { Db } from '../../store/db.js';
import type { ClusterRow } from '../../store/schema.js';

export const partitionsLabel = 'slurm.gpufleet.dev/partitions';

/** A cluster's machine is named `<cluster>/<machine>`, so it never meets an agent's hostname. */
export function clusterNodeName(cluster: string, machine: string): string {
  return `${cluster}/${machine}`;
}

/** The plane's name for a gpufleet model: the GRES type mapped to it, else the model itself. */
export function planeGpuModel(spec: ClusterSpec, model: string | null): string | null {
  if (model === null) return null;
  return Object.entries(spec.gpuModels).find(([, mapped]) => mapped === model)?.[0] ?? model;
}

/**
 * Makes the inventory match what the plane reports: one node per machine (of the cluster's
 * partition, when it names one) with its GPUs under their gpufleet model, the cluster's label and
 * the plane's state; a machine the plane no longer reports is lost. Returns the nodes' ids (none
 * once the cluster is deleted).
 */
export async function syncClusterInventory(db: Db, cluster: ClusterRow, inventory: InventoryNode[], now: Date): Promise<string[]> {
  const spec = cluster.spec;
  const wanted = inventory.filter((n) => spec.partition === undefined || n.partitions.includes(spec.partition));
  return inTransaction(db, async (tx) => {
    if (!(await lockLiveCluster(tx, cluster.id))) return [];
    const before = new Map((await listClusterNodes(tx, cluster.id)).map((n) => [n.external_name, n]));
    const ids: string[] = [];
    for (const machine of wanted) {
      const row = await upsertClusterNode(
        tx,
        newId(idPrefixes.node),
        cluster.id,
        {
          name: clusterNodeName(cluster.name, machine.name),
          externalName: machine.name,
          state: machine.state,
          cpus: machine.cpus,
          memoryMiB: machine.memoryMiB,
          labels: { [clusterLabel(cluster.name)]: cluster.name, ...(machine.partitions.length > 0 ? { [partitionsLabel]: machine.partitions.join(',') } : {}) },
          gpus: machine.gpus.map((g) => {
            const model = spec.gpuModels[g.model] ?? g.model;
            return { ...g, model, memoryMiB: g.memoryMiB || memoryFromModel(model) };
          }),
        },
        now,
      );
      const old = before.get(machine.name);
      if (!old) {
        await insertEvents(tx, [{ actor: 'system', kind: 'node.joined', targetKind: 'node', targetId: row.id, message: `node ${row.name} of cluster ${cluster.name} synced with ${machine.gpus.length} GPUs` }]);
      } else if (old.state !== row.state) {
        const why = machine.reason ? ` (${machine.reason})` : '';
        await insertEvents(tx, [{ actor: 'system', kind: `node.${row.state}`, targetKind: 'node', targetId: row.id, message: `node ${row.name} is ${row.state} in cluster ${cluster.name}${why}` }]);
      }
      before.delete(machine.name);
      ids.push(row.id);
    }
    for (const gone of before.values()) {
      if (gone.state !== 'lost' && (await setNodeState(tx, gone.id, gone.state, 'lost', now)))
        await insertEvents(tx, [{ actor: 'system', kind: 'node.lost', targetKind: 'node', targetId: gone.id, message: `node ${gone.name} is no longer reported by cluster ${cluster.name}` }]);
    }
    return ids;
  });
}
