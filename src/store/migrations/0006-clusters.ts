/**
 * Clusters: planes gpufleet does not run itself (a Slurm cluster behind slurmrestd). The cluster
 * holds a reference to its credential, never the credential. Its machines are rows of `nodes`
 * with `cluster_id` set (no agent, no heartbeat: the cluster loop keeps them); a replica placed
 * there records the job id the plane gave it. A workload may ask for one cluster by name.
 */
export const name = 'clusters';

export const sql = `
create table clusters (
  id text primary key,
  name text not null unique,
  backend text not null,
  spec jsonb not null,
  status text not null default 'pending',
  message text,
  synced_at timestamptz,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

alter table nodes add column cluster_id text references clusters(id);
-- The machine's name inside its cluster (nodes.name is prefixed to stay unique across planes).
alter table nodes add column external_name text;
create unique index nodes_cluster_external on nodes(cluster_id, external_name) where cluster_id is not null;

alter table replicas add column external_id text;

alter table workloads add column cluster text;
`;
