import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Quota } from '../core/api-types.js';
import type { ServiceSpec } from '../core/service-types.js';
import type { RolloutState } from '../core/rollout-types.js';
import type { GatewayReport } from '../core/gateway-report.js';
import type { WorkloadState } from '../core/workload-state.js';
import type { ReplicaState } from '../core/replica-state.js';
import type { NodeState } from '../core/node-state.js';
import type { ClusterSpec, ClusterStatus } from '../core/cluster-types.js';

/** Row shapes of the tables in migrations/, as Kysely sees them. */

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface TeamsTable {
  id: string;
  name: string;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface QueuesTable {
  id: string;
  name: string;
  team_id: string;
  parent_id: string | null;
  priority: number;
  quotas: Json<Quota[]>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface NodesTable {
  id: string;
  name: string;
  state: NodeState;
  simulated: boolean;
  labels: Json<Record<string, string>>;
  cpus: number;
  memory_mib: number;
  agent_version: string;
  credential_hash: string;
  last_heartbeat_at: Date | null;
  /** The latest sample of each GPU, as the agent last sent it (`GpuStat[]`). */
  gpu_stats: ColumnType<unknown[] | null, string | null | undefined, string | null>;
  gpu_stats_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  assignment_revision: Generated<number>;
  /** Set for a machine of a cluster (no agent): the cluster loop keeps it. */
  cluster_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The machine's name inside its cluster. */
  external_name: ColumnType<string | null, string | null | undefined, string | null>;
  /** Set when it left the inventory (its cluster was deleted); the row stays for its replicas' history. */
  removed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ClustersTable {
  id: string;
  name: string;
  backend: string;
  spec: Json<ClusterSpec>;
  status: ColumnType<ClusterStatus, ClusterStatus | undefined, ClusterStatus>;
  message: ColumnType<string | null, string | null | undefined, string | null>;
  synced_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Deleted, its row kept only until its jobs left to cancel are cancelled. */
  deleted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface GpusTable {
  node_id: string;
  idx: number;
  uuid: string;
  model: string;
  memory_mib: number;
}

export interface WorkloadSpecJson {
  command: string[];
  env: Record<string, string>;
  workdir: string | null;
  gracePeriodSeconds: number;
  /** A service's replica: what the agent needs to give it a port and probe it. */
  service?: ServiceReplicaSpec;
}

export interface ServiceReplicaSpec {
  model: string;
  version: string;
  /** Null: the agent picks a free port. */
  port: number | null;
  readinessPath: string;
}

export interface WorkloadsTable {
  id: string;
  name: string;
  team_id: string;
  queue_id: string;
  kind: Generated<string>;
  state: WorkloadState;
  reason: string | null;
  priority: number;
  gpus: number;
  gpu_model: string | null;
  spec: Json<WorkloadSpecJson>;
  generation: Generated<number>;
  attempts: Generated<number>;
  replicas: ColumnType<number, number | undefined, number>;
  preemptible: ColumnType<boolean, boolean | undefined, boolean>;
  priority_class: ColumnType<string | null, string | null | undefined, string | null>;
  /** A share of one GPU (0 < f < 1); null for whole GPUs (then `gpus`). */
  gpu_fraction: ColumnType<number | null, number | null | undefined, number | null>;
  gpu_memory_mib: ColumnType<number | null, number | null | undefined, number | null>;
  /** Accepted models; null accepts any. */
  gpu_models: ColumnType<string[] | null, string | null | undefined, string | null>;
  cpus: ColumnType<number, number | undefined, number>;
  memory_mib: ColumnType<number, number | undefined, number>;
  topology_required: ColumnType<string | null, string | null | undefined, string | null>;
  topology_preferred: ColumnType<string | null, string | null | undefined, string | null>;
  time_limit_seconds: ColumnType<number | null, number | null | undefined, number | null>;
  /** The cluster it is kept to, by name; null: any node. */
  cluster: ColumnType<string | null, string | null | undefined, string | null>;
  preempted_for: ColumnType<string | null, string | null | undefined, string | null>;
  /** When work was last stopped for it, while it waits; cleared when it is admitted (migration 0009). */
  claimed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  service_id: ColumnType<string | null, string | null | undefined, string | null>;
  service_index: ColumnType<number | null, number | null | undefined, number | null>;
  restarts: ColumnType<number, number | undefined, number>;
  restart_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** A service replica being removed: out of the routing table since then, stopped once drained. */
  draining_since: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Why it waits, most relevant first; `reason` is the first. */
  reasons: ColumnType<string[], string | undefined, string>;
  exit_code: number | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  admitted_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface ReplicasTable {
  id: string;
  workload_id: string;
  node_id: string;
  generation: number;
  state: ReplicaState;
  desired: 'run' | 'stop';
  gpu_indices: Json<number[]>;
  replica_index: ColumnType<number, number | undefined, number>;
  gpu_model: ColumnType<string | null, string | null | undefined, string | null>;
  gpu_fraction: ColumnType<number | null, number | null | undefined, number | null>;
  gpu_memory_mib: ColumnType<number | null, number | null | undefined, number | null>;
  cpus: ColumnType<number, number | undefined, number>;
  memory_mib: ColumnType<number, number | undefined, number>;
  /** Where a service replica listens (`http://host:port`), as its agent reports. */
  endpoint: ColumnType<string | null, string | null | undefined, string | null>;
  ready: ColumnType<boolean, boolean | undefined, boolean>;
  /** The plane's id for it (a Slurm job id), once launched there. */
  external_id: ColumnType<string | null, string | null | undefined, string | null>;
  exit_code: number | null;
  message: string | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface ServicesTable {
  id: string;
  name: string;
  team_id: string;
  queue_id: string;
  model: string;
  model_version: string;
  replicas: number;
  spec: Json<ServiceSpec>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** When the replica count last changed; scale to zero's idle clock starts no earlier. */
  scaled_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The current or last rollout (null: none yet). */
  rollout: ColumnType<RolloutState | null, string | null | undefined, string | null>;
}

export interface GatewayReportsTable {
  gateway_id: string;
  report: ColumnType<GatewayReport, string, string>;
  reported_at: Date;
}

export interface LogChunksTable {
  id: Generated<number>;
  workload_id: string;
  replica_id: string;
  stream: 'stdout' | 'stderr';
  byte_offset: number;
  data: string;
  created_at: CreatedAt;
}

export interface EventsTable {
  id: Generated<number>;
  at: CreatedAt;
  actor: string;
  kind: string;
  target_kind: string;
  target_id: string;
  message: string;
  data: Json<Record<string, unknown>>;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  kind: 'api' | 'join' | 'node';
  role: 'admin' | 'member' | null;
  team_id: string | null;
  token_hash: string;
  created_at: CreatedAt;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface GpuUsageTable {
  node_id: string;
  gpu_index: number;
  from_at: Date;
  to_at: Date;
  replica_id: string | null;
  samples: number;
  activity: number;
  memory_used_mib: number;
  memory_used_max_mib: number;
  used: boolean;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: CreatedAt;
}

/** One bucket of good and bad events of one service's SLO objective (migration 0008). */
export interface SloBucketsTable {
  service_id: string;
  objective: string;
  t: Date;
  good: number;
  bad: number;
}

/** A Slurm job (or other plane's) gpufleet must still cancel: its replica was lost or its cluster deleted. */
export interface ClusterJobCancelsTable {
  cluster_id: string;
  idempotency_key: string;
  /** The plane's id; null when the launch was never confirmed (the key finds the job, if there is one). */
  external_id: string | null;
  created_at: CreatedAt;
}

export interface Database {
  teams: TeamsTable;
  queues: QueuesTable;
  nodes: NodesTable;
  clusters: ClustersTable;
  cluster_job_cancels: ClusterJobCancelsTable;
  gpus: GpusTable;
  workloads: WorkloadsTable;
  replicas: ReplicasTable;
  services: ServicesTable;
  gateway_reports: GatewayReportsTable;
  log_chunks: LogChunksTable;
  events: EventsTable;
  api_tokens: ApiTokensTable;
  gpu_usage: GpuUsageTable;
  slo_buckets: SloBucketsTable;
  schema_migrations: SchemaMigrationsTable;
}

export type TeamRow = Selectable<TeamsTable>;
export type QueueRow = Selectable<QueuesTable>;
export type NodeRow = Selectable<NodesTable>;
export type ClusterRow = Selectable<ClustersTable>;
export type ClusterJobCancelRow = Selectable<ClusterJobCancelsTable>;
export type GpuRow = Selectable<GpusTable>;
export type WorkloadRow = Selectable<WorkloadsTable>;
export type NewWorkload = Insertable<WorkloadsTable>;
export type WorkloadUpdate = Updateable<WorkloadsTable>;
export type ReplicaRow = Selectable<ReplicasTable>;
export type ServiceRow = Selectable<ServicesTable>;
export type EventRow = Selectable<EventsTable>;
export type ApiTokenRow = Selectable<ApiTokensTable>;
