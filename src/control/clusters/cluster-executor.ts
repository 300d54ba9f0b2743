import type { ClusterStatus } from '../../core/cluster-types.js';
import type { Executor } from '../../executors/spi.js';
import { SlurmApiError, SlurmAuthError, SlurmRestClient, SlurmUnavailableError } from '../../executors/slurm/rest-client.js';
import { SlurmExecutor } from '../../executors/slurm/slurm-executor.js';
import type { ClusterRow } from '../../store/schema.js';

/** The executor for a cluster's backend (only Slurm so far). */
export function clusterExecutor(cluster: ClusterRow, token: string): Executor {
  const { spec } = cluster;
  const client = new SlurmRestClient({ url: spec.url, userName: spec.user, token });
  return new SlurmExecutor({ name: `slurm:${cluster.name}`, client, outputDir: spec.outputDir, ...(spec.partition ? { partition: spec.partition } : {}) });
}

/** What an error from the plane means for the cluster's status; null for an error of gpufleet's own. */
export function clusterFailure(err: unknown): { status: ClusterStatus; message: string } | null {
  if (err instanceof SlurmUnavailableError) return { status: 'unreachable', message: err.message };
  if (err instanceof SlurmAuthError) return { status: 'unauthorized', message: err.message };
  if (err instanceof SlurmApiError) return { status: 'error', message: err.message };
  return null;
}
