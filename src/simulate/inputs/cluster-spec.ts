import { z } from 'zod';
import { gpuModelSchema } from '../../core/gpu-models.js';
import { parseMemoryMiB } from '../../core/quantities.js';
import { fieldIssues, summarizeIssues } from '../../core/zod-issues.js';
import type { ClusterNodeSpec, ClusterSpec } from '../traces/types.js';

/**
 * A cluster written by hand for `gpufleet simulate --cluster FILE.yaml`: groups of alike nodes.
 *
 *   nodes:
 *     - { name: dgx, count: 4, gpus: 8, gpuModel: H100-80GB, cpus: 112, memory: 2Ti, labels: { rack: r1 } }
 *     - { name: cpu, count: 2, cpus: 64, memory: 256Gi }
 *
 * A group of several nodes names them `<name>-0`, `<name>-1`… (zero-padded); cores and memory
 * left out (0) do not constrain.
 */
const memory = z
  .union([z.string(), z.number()])
  .refine((v) => parseMemoryMiB(v) !== null, 'must be a memory quantity such as 512Gi, or a number of MiB')
  .transform((v) => parseMemoryMiB(v)!);

const groupSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-"'),
    count: z.number().int().min(1).max(1_000_000).default(1),
    gpus: z.number().int().min(0).max(1024).default(0),
    gpuModel: gpuModelSchema.optional(),
    cpus: z.number().min(0).default(0),
    memory: memory.default(0),
    labels: z.record(z.string().min(1), z.string()).default({}),
  })
  .refine((g) => g.gpus === 0 || g.gpuModel !== undefined, { message: 'a group with GPUs names their gpuModel', path: ['gpuModel'] });

export const clusterSpecSchema = z.strictObject({ nodes: z.array(groupSchema).min(1) });

export class ClusterSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterSpecError';
  }
}

/** A parsed YAML document as a cluster spec; issues name the field, e.g. `nodes[1].gpuModel`. */
export function parseClusterSpec(doc: unknown, source: string): ClusterSpec {
  const result = clusterSpecSchema.safeParse(doc);
  if (!result.success) throw new ClusterSpecError(`${source}: ${summarizeIssues(fieldIssues(result.error))}`);
  const nodes: ClusterNodeSpec[] = [];
  for (const g of result.data.nodes) {
    const width = String(g.count - 1).length;
    for (let i = 0; i < g.count; i++) {
      nodes.push({
        name: g.count === 1 ? g.name : `${g.name}-${String(i).padStart(width, '0')}`,
        gpus: g.gpus,
        gpuModel: g.gpus > 0 ? g.gpuModel! : null,
        cpuMilli: Math.round(g.cpus * 1000),
        memoryMiB: g.memory,
        labels: g.labels,
      });
    }
  }
  return { nodes };
}

/**
 * Keeps `fraction` of the nodes, evenly over the list (node i stays when ⌊(i+1)·f⌋ > ⌊i·f⌋), so
 * each group of alike nodes shrinks in proportion.
 */
export function shrinkCluster(spec: ClusterSpec, fraction: number): ClusterSpec {
  if (!(fraction > 0 && fraction <= 1)) throw new ClusterSpecError(`--shrink must be in (0, 1], got ${fraction}`);
  const nodes = spec.nodes.filter((_, i) => Math.floor((i + 1) * fraction) > Math.floor(i * fraction));
  if (nodes.length === 0) throw new ClusterSpecError(`--shrink ${fraction} leaves no node of ${spec.nodes.length}`);
  return { nodes };
}
