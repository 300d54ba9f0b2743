import { z } from 'zod';
import { gpuModelSchema } from './gpu-models.js';
import { isoDate } from './api-types.js';

/**
 * A cluster is a plane gpufleet admits into but does not run itself: a Slurm cluster behind
 * slurmrestd. gpufleet keeps only a reference to its credential (an environment variable or a
 * file of the server), read at each sync, so the token is never stored, returned or logged.
 */

export const secretRefSchema = z
  .union([
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').describe('Environment variable of the server holding the secret') }),
    z.strictObject({ file: z.string().max(4096).regex(/^\//, 'must be an absolute path').describe('File on the server holding the secret') }),
  ])
  .describe('Where the server reads a secret: {env: NAME} or {file: /path}; the secret itself is never stored');
export type SecretRef = z.infer<typeof secretRefSchema>;

const absolutePath = z.string().min(2).max(4096).regex(/^\//, 'must be an absolute path');
const gresType = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a Slurm GRES type such as h100');

export const clusterSpecSchema = z.strictObject({
  backend: z.literal('slurm').describe('The only backend so far'),
  url: z
    .string()
    .max(2048)
    .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'must be an http:// or https:// URL')
    .describe('slurmrestd, e.g. http://slurm-head:6820'),
  user: z.string().min(1).max(64).regex(/^[a-z_][a-z0-9_.-]*$/, 'must be a Unix user name').describe('Slurm user the jobs are submitted as (X-SLURM-USER-NAME)'),
  token: secretRefSchema.describe('The Slurm JWT (scontrol token): where the server reads it'),
  outputDir: absolutePath.describe('Folder on a filesystem shared by the compute nodes and the server, where jobs write their output'),
  partition: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a Slurm partition name').optional().describe('Only nodes of this partition; jobs go to it'),
  gpuModels: z
    .record(gresType, gpuModelSchema)
    .default({})
    .describe('gpufleet model per Slurm GRES type, e.g. {h100: H100-80GB}, so quotas by model span both planes; unmapped types keep their Slurm name'),
});
export type ClusterSpec = z.infer<typeof clusterSpecSchema>;
export const clusterPutSchema = clusterSpecSchema.extend({ version: z.number().int().positive().optional() });

export const clusterStatuses = ['pending', 'ready', 'unreachable', 'unauthorized', 'error'] as const;
export type ClusterStatus = (typeof clusterStatuses)[number];

export const clusterSchema = z.object({
  id: z.string(),
  name: z.string(),
  spec: clusterSpecSchema,
  status: z.enum(clusterStatuses).describe('pending: not synced yet; ready; unreachable: slurmrestd or slurmctld down; unauthorized: the token was refused; error: anything else'),
  message: z.string().nullable().describe('Why the cluster is not ready'),
  syncedAt: isoDate.nullable().describe('Last successful inventory sync'),
  nodes: z.number().int(),
  gpus: z.number().int(),
  version: z.number().int(),
  createdAt: isoDate,
});
export type Cluster = z.infer<typeof clusterSchema>;

const clusterLabelPrefix = 'cluster.gpufleet.dev/';

/** The label every node of a cluster carries, so a workload can be kept to one cluster (or to the agents). */
export function clusterLabel(cluster: string): string {
  return `${clusterLabelPrefix}${cluster}`;
}
export const agentPlaneLabel = 'plane.gpufleet.dev/agent';

/** The plane a topology label keeps a workload to, in a user's words; null for any other label. */
export function planeOfLabel(label: string): { noRoom: string; why: string } | null {
  if (label === agentPlaneLabel) return { noRoom: 'no agent node has room', why: 'a share of a GPU and a service replica run only on agents' };
  if (label.startsWith(clusterLabelPrefix)) return { noRoom: `cluster ${label.slice(clusterLabelPrefix.length)} has no room`, why: 'the workload is kept to it' };
  return null;
}
