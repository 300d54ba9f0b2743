/**
 * Deleting a cluster, and the Slurm jobs gpufleet still has to cancel. A job whose replica was lost
 * (requeued by the plane, forgotten, or its cluster deleted) is kept in `cluster_job_cancels` until
 * the plane confirms it ended, so a server restart still cancels it; it is named by its replica's
 * idempotency key and, once known, the plane's job id. A deleted cluster with jobs still to cancel
 * keeps its row (`deleted_at`), hidden from the API, until the cluster loop has cancelled them. Its
 * machines leave the inventory (`nodes.removed_at`) but stay in the history of the replicas that
 * ran there; node names stay unique among the nodes still in the inventory. Cluster machines have
 * no credential, so the credential index covers agents' nodes only.
 */
export const name = 'cluster-deletion';

export const sql = `
create table cluster_job_cancels (
  cluster_id text not null references clusters(id) on delete cascade,
  idempotency_key text not null,
  external_id text,
  created_at timestamptz not null default now(),
  primary key (cluster_id, idempotency_key)
);

alter table clusters add column deleted_at timestamptz;

alter table nodes add column removed_at timestamptz;
alter table nodes drop constraint nodes_name_key;
create unique index nodes_name on nodes(name) where removed_at is null;

drop index nodes_credential;
create unique index nodes_credential on nodes(credential_hash) where credential_hash <> '';
`;
