import type { Gpu } from '../core/api-types.js';
import type { NodeState } from '../core/node-state.js';
import type { ReplicaState } from '../core/replica-state.js';

/**
 * The executor SPI: one interface for every plane that can run replicas (gpufleet's own agent, a
 * Slurm cluster, Kubernetes). The control plane admits and places by quota; an executor only runs
 * what it is given and reports truthfully what became of it. Every executor passes one conformance
 * suite, so nothing above this file knows which plane it talks to.
 */
export interface Executor {
  /** Names the plane in logs and metrics, e.g. `agent` or `slurm:prod`. */
  readonly name: string;
  capabilities(): ExecutorCapabilities;
  /** The machines and GPUs this plane offers now; the control plane reconciles its inventory to it. */
  syncInventory(): Promise<InventoryNode[]>;
  /**
   * Starts a replica. Idempotent by `req.idempotencyKey`: a retry after a lost answer returns the
   * handle of the first launch instead of starting a second copy.
   */
  launch(req: LaunchRequest): Promise<LaunchHandle>;
  /**
   * The id of an earlier launch with this idempotency key, or null when there was none: how a
   * replica stopped before its launch was confirmed learns whether something must be stopped.
   */
  find(idempotencyKey: string): Promise<string | null>;
  /** Asks the replica to end (SIGTERM or the plane's equivalent), then forces it after the grace period. */
  stop(externalId: string, gracePeriodMs: number): Promise<void>;
  /** Ids the plane no longer knows are reported `lost`, never left out. */
  status(externalIds: readonly string[]): Promise<Map<string, ExecutorReplicaStatus>>;
  /** Output from a byte offset; `done` once the replica has ended and everything it wrote was returned. */
  logs(externalId: string, stream: LogStream, fromOffset: number): Promise<LogRead>;
}

export interface ExecutorCapabilities {
  /** Whether a launch may pin GPU indices; planes that place GPUs themselves (Slurm) only take a count. */
  pinsGpuIndices: boolean;
  /** Whether `timeLimitSeconds` is enforced by the plane. */
  enforcesTimeLimit: boolean;
  /** Whether the plane may requeue a replica on its own (then `lost` with a message says so). */
  mayRequeue: boolean;
}

export interface InventoryNode {
  name: string;
  state: NodeState;
  cpus: number;
  memoryMiB: number;
  gpus: Gpu[];
  /** Plane-specific grouping (Slurm partitions); empty where the plane has none. */
  partitions: string[];
  /** Why the plane holds the node out of service, when it does. */
  reason: string | null;
}

export interface LaunchRequest {
  replicaId: string;
  generation: number;
  workloadName: string;
  command: string[];
  env: Record<string, string>;
  workdir: string | null;
  gpus: { count: number; indices?: number[] | undefined };
  /** The model name as the inventory reported it; null means any. */
  gpuModel: string | null;
  timeLimitSeconds: number | null;
  /** The machine the control plane placed it on (its name in the plane); the plane must run it there. */
  node?: string | undefined;
  /** Cores and memory (MiB) it asked for; 0 leaves the plane's default. */
  cpus?: number | undefined;
  memoryMiB?: number | undefined;
  idempotencyKey: string;
}

export interface LaunchHandle {
  /** The plane's own id for the replica (a Slurm job id, a process group): what stop/status/logs take. */
  externalId: string;
  /** False when an earlier launch with the same idempotency key was found and returned. */
  created: boolean;
}

export interface ExecutorReplicaStatus {
  state: ReplicaState;
  exitCode: number | null;
  message: string | null;
}

export type LogStream = 'stdout' | 'stderr';

export interface LogRead {
  data: string;
  nextOffset: number;
  done: boolean;
}

/** One key per (replica, generation): a replica re-admitted under a new generation is a new launch. */
export function idempotencyKey(replicaId: string, generation: number): string {
  return `${replicaId}.${generation}`;
}

export function launchRequest(fields: Omit<LaunchRequest, 'idempotencyKey'>): LaunchRequest {
  return { ...fields, idempotencyKey: idempotencyKey(fields.replicaId, fields.generation) };
}
