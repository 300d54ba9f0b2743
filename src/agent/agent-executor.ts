import { access } from 'node:fs/promises';
import type { Assignment } from '../core/agent-protocol.js';
import type { Gpu } from '../core/api-types.js';
import { isActiveReplicaState } from '../core/replica-state.js';
import type { Executor, ExecutorCapabilities, ExecutorReplicaStatus, InventoryNode, LaunchHandle, LaunchRequest, LogRead, LogStream } from '../executors/spi.js';
import { readChunk } from './log-shipper.js';
import { adoptReplica, startReplica, type ReplicaProcess } from './process-runner.js';
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
}

/**
 * The agent's own plane behind the executor SPI: replicas as detached process groups on this
 * machine, with their folder in the state dir named by the idempotency key (which is also the
 * external id), so a launch retried, or asked of a restarted agent, finds the replica it started.
 */
export class AgentExecutor implements Executor {
  readonly name = 'agent';
  private readonly processes = new Map<string, ReplicaProcess>();

  constructor(private readonly options: AgentExecutorOptions) {}

  capabilities(): ExecutorCapabilities {
    return { pinsGpuIndices: true, enforcesTimeLimit: false, mayRequeue: false };
  }

  async syncInventory(): Promise<InventoryNode[]> {
    const { nodeName, cpus, memoryMiB, gpus } = this.options;
    return [{ name: nodeName, state: 'ready', cpus, memoryMiB, gpus, partitions: [], reason: null }];
  }

  async launch(req: LaunchRequest): Promise<LaunchHandle> {
    const externalId = req.idempotencyKey;
    if (await this.find(externalId)) return { externalId, created: false };
    const indices = req.gpus.indices ?? this.options.gpus.slice(0, req.gpus.count).map((g) => g.index);
    const uuidOf = new Map(this.options.gpus.map((g) => [g.index, g.uuid]));
    const assignment: Assignment = {
      replicaId: externalId,
      workloadId: req.replicaId,
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
    this.processes.set(externalId, await startReplica(assignment, { stateDir: this.options.stateDir, gpus: this.options.gpus, ...(this.options.baseEnv ? { baseEnv: this.options.baseEnv } : {}) }));
    return { externalId, created: true };
  }

  async find(idempotencyKey: string): Promise<string | null> {
    if (this.processes.has(idempotencyKey)) return idempotencyKey;
    try {
      await access(this.options.stateDir.replica(idempotencyKey).assignment);
      return idempotencyKey;
    } catch {
      return null;
    }
  }

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
    const chunk = await readChunk(this.options.stateDir.replica(externalId)[stream], fromOffset, ended);
    if (!chunk) return { data: '', nextOffset: fromOffset, done: ended };
    return { data: chunk.data, nextOffset: fromOffset + chunk.bytes, done: false };
  }

  /** The replica's process, re-adopted from the state dir when an earlier agent started it; null if unknown. */
  private async process(externalId: string): Promise<ReplicaProcess | null> {
    const known = this.processes.get(externalId);
    if (known) return known;
    if ((await this.find(externalId)) === null) return null;
    const adopted = await adoptReplica(externalId, { stateDir: this.options.stateDir });
    this.processes.set(externalId, adopted);
    return adopted;
  }
}

/** How the agent reports a replica: running until it ends, then stopped (asked), succeeded or failed. */
export function statusOf(exit: ExitRecord | null): ExecutorReplicaStatus {
  if (exit === null) return { state: 'running', exitCode: null, message: null };
  return { state: exit.stopped ? 'stopped' : exit.exitCode === 0 ? 'succeeded' : 'failed', exitCode: exit.exitCode, message: exit.message };
}
