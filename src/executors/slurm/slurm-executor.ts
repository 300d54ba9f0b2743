import { join } from 'node:path';
import type { Gpu } from '../../core/api-types.js';
import { memoryFromModel } from '../../core/gpu-models.js';
import type { NodeState } from '../../core/node-state.js';
import { isActiveReplicaState } from '../../core/replica-state.js';
import type {
  Executor,
  ExecutorCapabilities,
  ExecutorReplicaStatus,
  InventoryNode,
  LaunchHandle,
  LaunchRequest,
  LogRead,
  LogStream,
} from '../spi.js';
import { readLog } from '../log-files.js';
import { gresRequest, parseGpuGres } from './gres.js';
import { SlurmApiError, type SlurmJob, type SlurmNode, type SlurmRestClient } from './rest-client.js';
import { mapSlurmJobState, slurmHoldsJob, unknownJobStatus } from './state-map.js';

export interface SlurmExecutorOptions {
  /** Names the cluster, e.g. `slurm:prod`. */
  name: string;
  client: SlurmRestClient;
  /**
   * Where jobs write their standard output and error, read back by `logs()`. It must be a shared
   * filesystem seen at the same path by the compute nodes and by gpufleet, as Slurm users expect of
   * their home and scratch folders; slurmrestd offers no way to read a job's output.
   */
  outputDir: string;
  /** Where a job starts when its workload names no workdir; defaults to `outputDir`. */
  defaultWorkdir?: string;
  /** Slurm's default partition when unset. */
  partition?: string;
  /** How often `stop()` checks whether the job has ended within its grace period. */
  stopPollMs?: number;
}

const commentPrefix = 'gpufleet:';
const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/**
 * How long a listed job's state stands in for a GET of it in `logs()`. A state that has moved on
 * since only delays `done` by one read: an ended job never runs again under the same id.
 */
const listedFreshMs = 1000;

/**
 * A Slurm cluster as an executor: gpufleet admits by quota and priority, Slurm places and runs.
 * A replica is one batch job; its idempotency key is the job's comment, so a launch retried after
 * slurmrestd failed mid-submit finds the job it already made instead of submitting a second.
 */
export class SlurmExecutor implements Executor {
  readonly name: string;
  private readonly client: SlurmRestClient;
  private readonly options: SlurmExecutorOptions;
  // Lets status() say `stopped` rather than `failed` for a job that ended by gpufleet's SIGTERM.
  private readonly stopRequested = new Set<string>();
  // The jobs the latest list returned: logs() right after status() reads them rather than asking again per job.
  private listed: { at: number; jobs: Map<string, SlurmJob> } = { at: 0, jobs: new Map() };

  constructor(options: SlurmExecutorOptions) {
    this.name = options.name;
    this.client = options.client;
    this.options = options;
  }

  capabilities(): ExecutorCapabilities {
    return { pinsGpuIndices: false, enforcesTimeLimit: true, mayRequeue: true };
  }

  async syncInventory(): Promise<InventoryNode[]> {
    const [nodes, partitions] = await Promise.all([this.client.nodes(), this.client.partitions()]);
    const upPartitions = new Set(partitions.filter((p) => (p.state ?? 'UP').toUpperCase() === 'UP').map((p) => p.name));
    return nodes.map((node) => ({
      name: node.name,
      state: nodeState(node),
      cpus: node.cpus,
      memoryMiB: node.real_memory,
      gpus: nodeGpus(node),
      partitions: node.partitions.filter((p) => upPartitions.has(p)),
      reason: node.reason || null,
    }));
  }

  async launch(req: LaunchRequest): Promise<LaunchHandle> {
    const comment = commentPrefix + req.idempotencyKey;
    const existing = await this.findByComment(comment);
    if (existing) return { externalId: String(existing.job_id), created: false };

    const base = join(this.options.outputDir, fileSafe(req.idempotencyKey));
    const env: Record<string, string> = {
      PATH: defaultPath,
      ...req.env,
      GPUFLEET_REPLICA_ID: req.replicaId,
      GPUFLEET_GENERATION: String(req.generation),
    };
    // Slurm sets it from the GPUs it allocates; a value passed in would point at someone else's.
    delete env['CUDA_VISIBLE_DEVICES'];
    const gpuCount = req.gpus.count || req.gpus.indices?.length || 0;
    const jobId = await this.client.submitJob(batchScript(req.command), {
      name: req.workloadName,
      comment,
      environment: env,
      current_working_directory: req.workdir ?? this.options.defaultWorkdir ?? this.options.outputDir,
      standard_output: `${base}.stdout`,
      standard_error: `${base}.stderr`,
      requeue: false,
      ...(req.timeLimitSeconds ? { time_limit: Math.max(1, Math.ceil(req.timeLimitSeconds / 60)) } : {}),
      ...(gpuCount > 0 ? { gres: gresRequest(gpuCount, req.gpuModel) } : {}),
      ...(this.options.partition ? { partition: this.options.partition } : {}),
      ...(req.node ? { nodelist: req.node } : {}),
      ...(req.cpus ? { cpus_per_task: Math.max(1, Math.ceil(req.cpus)) } : {}),
      ...(req.memoryMiB ? { memory_per_node: Math.ceil(req.memoryMiB) } : {}),
    });
    return { externalId: String(jobId), created: true };
  }

  async find(idempotencyKey: string): Promise<string | null> {
    const job = await this.findByComment(commentPrefix + idempotencyKey);
    return job ? String(job.job_id) : null;
  }

  async stop(externalId: string, gracePeriodMs: number): Promise<void> {
    const jobId = Number(externalId);
    const job = await this.client.job(jobId);
    const held = job ? slurmHoldsJob(job.job_state) : null;
    // A job that had already ended keeps the state it ended in.
    if (held === null) return;
    this.stopRequested.add(externalId);
    // Nothing of it runs yet (pending, or requeued by Slurm), or no grace is given: cancel it outright.
    // A SIGTERM just before the SIGKILL would only race it, and Slurm records a job that the SIGTERM
    // ended as FAILED rather than CANCELLED.
    if (held === 'waiting' || gracePeriodMs <= 0) return this.signalIgnoringEnded(jobId, 'SIGKILL');
    await this.signalIgnoringEnded(jobId, 'SIGTERM');
    const deadline = Date.now() + gracePeriodMs;
    while (Date.now() < deadline) {
      await sleep(Math.min(this.options.stopPollMs ?? 250, Math.max(0, deadline - Date.now())));
      if (!(await this.isHeld(jobId))) return;
    }
    await this.signalIgnoringEnded(jobId, 'SIGKILL');
  }

  /** One list call for every job's state, however many are asked about. */
  async status(externalIds: readonly string[]): Promise<Map<string, ExecutorReplicaStatus>> {
    const jobs = await this.listJobs();
    const result = new Map<string, ExecutorReplicaStatus>();
    for (const id of externalIds) {
      const job = jobs.get(id);
      result.set(id, job ? this.mapJob(job) : unknownJobStatus);
    }
    return result;
  }

  async logs(externalId: string, stream: LogStream, fromOffset: number): Promise<LogRead> {
    const listed = Date.now() - this.listed.at <= listedFreshMs ? this.listed.jobs.get(externalId) : undefined;
    const job = listed ?? (await this.client.job(Number(externalId)));
    if (!job) return { data: '', nextOffset: fromOffset, done: true };
    const ended = !isActiveReplicaState(this.mapJob(job).state);
    const path = stream === 'stdout' ? job.standard_output : job.standard_error;
    return readLog(path.replaceAll('%j', externalId), fromOffset, ended);
  }

  private mapJob(job: SlurmJob): ExecutorReplicaStatus {
    return mapSlurmJobState(
      { jobState: job.job_state, exitCode: job.exit_code, restartCount: job.restart_cnt, stateReason: job.state_reason },
      { stopRequested: this.stopRequested.has(String(job.job_id)) },
    );
  }

  private async listJobs(): Promise<Map<string, SlurmJob>> {
    const jobs = new Map((await this.client.jobs()).map((job) => [String(job.job_id), job]));
    this.listed = { at: Date.now(), jobs };
    return jobs;
  }

  private async findByComment(comment: string): Promise<SlurmJob | undefined> {
    const matches = [...(await this.listJobs()).values()].filter((job) => job.comment === comment);
    return matches.sort((a, b) => a.job_id - b.job_id)[0];
  }

  private async isHeld(jobId: number): Promise<boolean> {
    const job = await this.client.job(jobId);
    return job !== null && slurmHoldsJob(job.job_state) !== null;
  }

  private async signalIgnoringEnded(jobId: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    try {
      await this.client.signalJob(jobId, signal);
    } catch (err) {
      // The job may end between the check and the signal; that is the outcome stop() wants.
      if (err instanceof SlurmApiError && !(await this.isHeld(jobId))) return;
      throw err;
    }
  }
}

function nodeState(node: SlurmNode): NodeState {
  const words = [node.state, ...node.state_flags].map((s) => s.toUpperCase());
  if (words.some((w) => ['DOWN', 'FAIL', 'UNKNOWN', 'FUTURE', 'NOT_RESPONDING', 'INVALID', 'ERROR'].includes(w))) return 'lost';
  if (words.some((w) => w.startsWith('DRAIN') || w === 'MAINTENANCE' || w === 'RESERVED')) return 'draining';
  return 'ready';
}

/** Slurm names GPUs only by count and type; the ids here are stable per node and index. */
function nodeGpus(node: SlurmNode): Gpu[] {
  const gpus: Gpu[] = [];
  for (const gres of parseGpuGres(node.gres)) {
    const model = gres.model ?? 'gpu';
    for (let i = 0; i < gres.count; i++) {
      const index = gpus.length;
      gpus.push({ index, uuid: `slurm-${node.name}-gpu${index}`, model, memoryMiB: memoryFromModel(model) });
    }
  }
  return gpus;
}

function batchScript(command: string[]): string {
  return `#!/bin/sh\nexec ${command.map(shellQuote).join(' ')}\n`;
}

function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

function fileSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
