/**
 * What the new scheduler needs: gangs (replicas), fractional GPUs, CPU and memory requests,
 * preemptibility, topology and time limits on workloads; what each replica holds; the ranked
 * reasons a workload waits. Existing rows keep their meaning through the defaults.
 */
export const name = 'scheduler';

export const sql = `
alter table workloads add column replicas integer not null default 1;
alter table workloads add column preemptible boolean not null default true;
alter table workloads add column priority_class text;
alter table workloads add column gpu_fraction double precision;
alter table workloads add column gpu_memory_mib integer;
alter table workloads add column gpu_models jsonb;
alter table workloads add column cpus double precision not null default 0;
alter table workloads add column memory_mib integer not null default 0;
alter table workloads add column topology_required text;
alter table workloads add column topology_preferred text;
alter table workloads add column time_limit_seconds integer;
alter table workloads add column reasons jsonb not null default '[]'::jsonb;
-- The workload a preempted one makes room for: what it releases is held for that one.
alter table workloads add column preempted_for text;
-- The one model a workload asked for before lists of models existed.
update workloads set gpu_models = jsonb_build_array(gpu_model) where gpu_model is not null;

alter table replicas add column replica_index integer not null default 0;
alter table replicas add column gpu_model text;
alter table replicas add column gpu_fraction double precision;
alter table replicas add column gpu_memory_mib integer;
alter table replicas add column cpus double precision not null default 0;
alter table replicas add column memory_mib integer not null default 0;
-- Replicas placed before this migration: their model from the node's inventory.
update replicas set gpu_model = g.model from gpus g
  where g.node_id = replicas.node_id and jsonb_array_length(replicas.gpu_indices) > 0 and g.idx = (replicas.gpu_indices->>0)::int;
-- Fair share reads the replicas that ran recently.
create index replicas_finished on replicas(finished_at) where finished_at is not null;
create index queues_parent on queues(parent_id);
`;
