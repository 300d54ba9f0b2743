import type { SnapshotNode } from '../../scheduler/types.js';
import type { ClusterSpec } from '../traces/types.js';

/**
 * A cluster spec (a trace's node list, or written by hand) as the scheduler sees nodes: cores from
 * milli-cores (0, unknown, does not constrain), GPUs indexed from 0. Traces give no GPU memory;
 * shares are asked as fractions, so none is needed.
 */
export function snapshotNodes(spec: ClusterSpec): SnapshotNode[] {
  return spec.nodes.map((n) => ({
    id: n.name,
    name: n.name,
    schedulable: true,
    labels: n.labels,
    cpus: n.cpuMilli / 1000,
    memoryMiB: n.memoryMiB,
    gpus: Array.from({ length: n.gpuModel === null ? 0 : n.gpus }, (_, index) => ({ index, model: n.gpuModel!, memoryMiB: 0 })),
  }));
}
