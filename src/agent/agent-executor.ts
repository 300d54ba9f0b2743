import { access } from 'node:fs/promises';
import type { Assignment } from '../core/agent-protocol.js';
import type { Gpu } from '../core/api-types.js';
import { isActiveReplicaState } from '../core/replica-state.js';
import { readLog } from '../executors/log-files.js';
import {
  idempotencyKey,
  launchRequest,
  type Executor,
  type ExecutorCapabilities,
  type ExecutorReplicaStatus,
  type InventoryNode,
  type LaunchHandle,
  type LaunchRequest,
  type LogRead,
  type LogStream,
} from '../executors/spi.js';
import { adoptReplica, startReplica, type ReplicaProcess, type RunnerOptions } from './process-runner.js';
import type { ExitRecord, StateDir } from './state-dir.js';

export interface AgentExecutorOptions {
  /** The machine's name, as it registers. */
  nodeName: string;
  stateDir: StateDir;
  gpus: Gpu[];
  cpus: number;
  memoryMiB: number;
  /** The environment replicas inherit (minus GPUFLEET_*); the process's own by default. */
  baseEnv?: NodeJS.ProcessEnv;
  /** How often a re-adopted process, which is not this process's child, is checked; 500 ms by default. */
  pollIntervalMs?: number;
}

/** A replica found in the state dir by `recover()`: its external id (folder) and what the server asked for. */
export interface RecoveredReplica {
  externalId: string;
  assignment: Assignment;
}

/**
 * The agent's own plane behind the executor SPI: replicas as detached process groups on this
 * machine, with their folder in the state dir named by the idempotency key (which is also the
 * external id), so a launch retried, or asked of a restarted agent, finds the replica it started.
 * The node agent (agent.ts) runs every replica through it.
 */
export class AgentExecutor implements Executor {
  readonly name = 'agent';
  private readonly processes = new Map<string, ReplicaProcess>();
  /** Idempotency keys of replicas in folders of the older layout (named by replica id alone), to their folder. */
  private readonly olderFolders = new Map<string, string>();

  constructor(private readonly options: AgentExecutorOptions) {}

  capabilities(): ExecutorCapabilities {
    return { pinsGpuIndices: true, enforcesTimeLimit: false, mayRequeue: false };
  }

  async syncInventory(): Promise<InventoryNode[]> {
    const { nodeName, cpus, memoryMiB, gpus } = this.options;
    return [{ name: nodeName, state: 'ready', cpus, memoryMiB, gpus, partitions: [], reason: null }];
  }

  /**
   * Starts a replica. The node agent passes the server's whole assignment (service port, gang
   * position, GPU share), which is kept with the replica; other callers get one made from `req`.
   */
  async launch(req: LaunchRequest, assignment: Assignment = this.assignmentFor(req)): Promise<LaunchHandle> {
    const known = await this.find(req.idempotencyKey);
    if (known) return { externalId: known, created: false };
    const externalId = req.idempotencyKey;
    this.processes.set(externalId, await startReplica(externalId, assignment, this.runner()));
    return { externalId, created: true };
  }

  async find(key: string): Promise<string | null> {
    const older = this.olderFolders.get(key);
    if (older) return older;
    if (this.processes.has(key)) return key;
    try {
      await access(this.options.stateDir.replica(key).assignment);
      return key;
    } catch {
      return null;
    }
  }

  /** Resolves once the replica's whole process group is gone. */
  async stop(externalId: string, gracePeriodMs: number): Promise<void> {
    const process = await this.process(externalId);
    if (process) await process.terminate(gracePeriodMs);
  }

  async status(externalIds: readonly string[]): Promise<Map<string, ExecutorReplicaStatus>> {
    const result = new Map<string, ExecutorReplicaStatus>();
    for (const id of externalIds) {
      const process = await this.process(id);
      result.set(id, process ? statusOf(process.result) : { state: 'lost', exitCode: null, message: 'the agent no longer knows the replica' });
    }
    return result;
  }

  async logs(externalId: string, stream: LogStream, fromOffset: number): Promise<LogRead> {
    const process = await this.process(externalId);
    const ended = process === null || !isActiveReplicaState(statusOf(process.result).state);
    return readLog(this.options.stateDir.replica(externalId)[stream], fromOffset, ended);
  }

  /**
   * Every replica an earlier agent left in the state dir, running or ended, re-adopted. Folders of
   * the older layout (named by the replica id alone) are adopted under their own name, and a launch
   * of the same replica and generation finds them.
   */
  async recover(): Promise<RecoveredReplica[]> {
    const found: RecoveredReplica[] = [];
    for (const externalId of await this.options.stateDir.listReplicaIds()) {
      const assignment = await this.options.stateDir.readAssignment(externalId);
      // The folder is created just before its assignment is written: without one, nothing was started.
      if (!assignment) continue;
      const key = idempotencyKey(assignment.replicaId, assignment.generation);
      if (externalId !== key) this.olderFolders.set(key, externalId);
      await this.process(externalId);
      found.push({ externalId, assignment });
    }
    return found;
  }

  /** Forgets an ended replica and removes its folder (its output included). */
  async remove(externalId: string): Promise<void> {
    this.processes.get(externalId)?.detach();
    this.processes.delete(externalId);
    for (const [key, folder] of this.olderFolders) if (folder === externalId) this.olderFolders.delete(key);
    await this.options.stateDir.removeReplica(externalId);
  }

  /** Stops watching every process without touching it: replicas run on, and the next agent re-adopts them. */
  detach(): void {
    for (const process of this.processes.values()) process.detach();
  }

  /** The replica's process, re-adopted from the state dir when an earlier agent started it; null if unknown. */
  private async process(externalId: string): Promise<ReplicaProcess | null> {
    const known = this.processes.get(externalId);
    if (known) return known;
    if ((await this.find(externalId)) === null) return null;
    const adopted = await adoptReplica(externalId, this.runner());
    this.processes.set(externalId, adopted);
    return adopted;
  }

  private runner(): RunnerOptions {
    const { stateDir, gpus, baseEnv, pollIntervalMs } = this.options;
    return { stateDir, gpus, ...(baseEnv ? { baseEnv } : {}), ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }) };
  }

  private assignmentFor(req: LaunchRequest): Assignment {
    const indices = req.gpus.indices ?? this.options.gpus.slice(0, req.gpus.count).map((g) => g.index);
    const uuidOf = new Map(this.options.gpus.map((g) => [g.index, g.uuid]));
    return {
      replicaId: req.replicaId,
      workloadId: '',
      workloadName: req.workloadName,
      team: '',
      queue: '',
      generation: req.generation,
      desired: 'run',
      gpuIndices: indices,
      gpuUuids: indices.map((i) => uuidOf.get(i) ?? ''),
      command: req.command,
      env: req.env,
      workdir: req.workdir,
      gracePeriodMs: 0,
    };
  }
}

/** The SPI's view of an assignment: what the node agent launches for it. */
export function launchRequestOf(assignment: Assignment): LaunchRequest {
  return launchRequest({
    replicaId: assignment.replicaId,
    generation: assignment.generation,
    workloadName: assignment.workloadName,
    command: assignment.command,
    env: assignment.env,
    workdir: assignment.workdir,
    gpus: { count: assignment.gpuIndices.length, indices: assignment.gpuIndices },
    gpuModel: null,
    timeLimitSeconds: null,
  });
}

/** How the agent reports a replica: running until it ends, then stopped (asked), succeeded or failed. */
export function statusOf(exit: ExitRecord | null): ExecutorReplicaStatus {
  if (exit === null) return { state: 'running', exitCode: null, message: null };
  return { state: exit.stopped ? 'stopped' : exit.exitCode === 0 ? 'succeeded' : 'failed', exitCode: exit.exitCode, message: exit.message };
}
