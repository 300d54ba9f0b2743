import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { availableParallelism, totalmem } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Assignment, DesiredState, ReplicaReport } from '../core/agent-protocol.js';
import type { Gpu } from '../core/api-types.js';
import { nameSchema } from '../core/names.js';
import { hashString } from '../core/seeded-random.js';
import { isActiveReplicaState, replicaStates, type ReplicaState } from '../core/replica-state.js';
import { AgentClient } from '../client/agent-client.js';
import { ClientError } from '../client/http.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { Counter, Gauge, createRegistry, prometheusContentType, type Registry } from '../observe/metrics.js';
import { DcgmMetrics } from './dcgm-metrics.js';
import { discoverGpus, type GpuInventory } from './gpu-discovery.js';
import { NvidiaSmiSampler, SimulatedSampler, TelemetryLoop, type GpuHolder, type GpuSample } from './gpu-telemetry.js';
import { UsageSummarizer } from './usage-summaries.js';
import { idempotencyKey, type ExecutorReplicaStatus } from '../executors/spi.js';
import { LogShipper } from './log-shipper.js';
import { ReadinessProber, defaultAdvertiseAddress, endpointUrl, freePort } from './service-endpoints.js';
import { StateDir, isSafeFolderName, type NodeIdentity } from './state-dir.js';
import { AgentExecutor, launchRequestOf } from './agent-executor.js';

export interface AgentOptions {
  serverUrl: string;
  /** Needed unless stateDir already holds a credential for this server and name. */
  joinToken?: string | undefined;
  /** Node name (the CLI defaults it to the hostname, lowercased, DNS-label safe). */
  name: string;
  stateDir: string;
  /** Always simulate these GPUs, e.g. "8xH100-80GB". */
  simulateGpus?: string | undefined;
  /** Simulate these only if nvidia-smi finds no GPU. */
  simulateGpusIfNone?: string | undefined;
  labels?: Record<string, string>;
  /** Default 127.0.0.1. */
  metricsHost?: string;
  /** Undefined: no metrics listener; 0: a free port. */
  metricsPort?: number | undefined;
  /** Address advertised for service replicas' endpoints (default: the first non-internal IPv4 address). */
  advertiseAddress?: string | undefined;
  /** How often GPU telemetry is sampled for /metrics and the usage summaries (docs/gpu-telemetry.md); default 5000. */
  telemetryIntervalMs?: number | undefined;
  /** The longest window one usage summary sent to the server covers; default 60000. */
  usageWindowMs?: number | undefined;
  logLevel?: string;
  logger?: Logger;
}

export interface RunningAgent {
  nodeId: string;
  name: string;
  simulated: boolean;
  gpus: Gpu[];
  metricsUrl: string | null;
  /** Settles when the agent has stopped: resolves after stop(), rejects when it gave up (its credential was refused and it has no join token). */
  done: Promise<void>;
  /** By default replicas keep running, and the next agent on this state dir re-adopts them. */
  stop(options?: { stopReplicas?: boolean }): Promise<void>;
}

/** Hooks for tests; not part of the CLI's surface. */
export interface AgentInternals {
  nvidiaSmi?: () => Promise<{ gpus: Gpu[]; problem: string | null }>;
  runner?: { pollIntervalMs?: number };
  logPollIntervalMs?: number;
  /** How often running replicas' states are read from the executor; 100 ms by default. */
  statusPollIntervalMs?: number;
}

export async function runAgent(options: AgentOptions, internals: AgentInternals = {}): Promise<RunningAgent> {
  const agent = new NodeAgent(options, internals);
  await agent.start();
  return {
    get nodeId() {
      return agent.identity.nodeId;
    },
    name: options.name,
    simulated: agent.inventory.simulated,
    gpus: agent.inventory.gpus,
    metricsUrl: agent.metricsUrl,
    done: agent.done,
    stop: (stopOptions) => agent.shutdown(stopOptions?.stopReplicas ?? false),
  };
}

const watchWaitMs = 25_000;
const maxBackoffMs = 2000;
const defaultStatusPollMs = 100;

interface LocalReplica {
  assignment: Assignment;
  state: ReplicaState;
  exitCode: number | null;
  message: string | null;
  /** Its id in the executor once launched; null while starting, and for one never started. */
  externalId: string | null;
  /** Settles once the process exists (or failed to); stops wait for it. */
  started: Promise<void>;
  /** A stop came while the process was still being started. */
  stopWanted: boolean;
  /** The server no longer lists it: it is not reported any more, and its folder goes once its logs are shipped. */
  released: boolean;
  drained: boolean;
  /** When its process ended (ms since the epoch); the end is held back until its output is shipped. */
  endedAt: number | null;
}

class NodeAgent {
  identity!: NodeIdentity;
  inventory!: GpuInventory;
  metricsUrl: string | null = null;
  readonly done: Promise<void>;

  private readonly logger: Logger;
  private readonly version = readVersion();
  private readonly serverUrl: string;
  private readonly stateDir: StateDir;
  private readonly client: AgentClient;
  private readonly shipper: LogShipper;
  /** Every replica runs through it: launch, stop, status and output (created once the GPUs are known). */
  private executor!: AgentExecutor;
  private readonly replicas = new Map<string, LocalReplica>();
  private readonly unsafeIds = new Set<string>();
  private readonly abort = new AbortController();
  private readonly registry: Registry;
  private readonly heartbeats: Counter<'result'>;
  private metricsServer: Server | null = null;
  private telemetry: TelemetryLoop | null = null;
  private usage: UsageSummarizer | null = null;
  private readonly advertiseAddress: string;
  private readonly readiness: ReadinessProber;
  private loops: Promise<void>[] = [];
  /** Revision of the last desired state applied; an older one (an answer that crossed a newer) is ignored. */
  private revision = -1;
  private heartbeatIntervalMs = 5000;
  private gpusSent = false;
  private heartbeatWanted = false;
  private wakeHeartbeat: (() => void) | null = null;
  private outageSince: number | null = null;
  private reregistering: Promise<void> | null = null;
  private fatal: Error | null = null;
  private draining = false;
  private stopped = false;
  private stopped$: Promise<void> | null = null;
  private settleDone!: { resolve: () => void; reject: (err: Error) => void };

  constructor(
    private readonly options: AgentOptions,
    private readonly internals: AgentInternals,
  ) {
    this.logger = options.logger ?? createLogger({ name: 'agent', level: options.logLevel });
    this.serverUrl = options.serverUrl.replace(/\/+$/, '');
    this.stateDir = new StateDir(options.stateDir);
    this.client = new AgentClient({ serverUrl: this.serverUrl, userAgent: `gpufleet-agent/${this.version}` });
    this.advertiseAddress = options.advertiseAddress ?? defaultAdvertiseAddress();
    this.readiness = new ReadinessProber({ targets: () => this.probeTargets(), onChange: () => this.requestHeartbeat() });
    this.done = new Promise((resolve, reject) => (this.settleDone = { resolve, reject }));
    // Whoever holds `done` sees the rejection; nobody holding it must not crash the process.
    this.done.catch(() => undefined);

    this.registry = createRegistry('agent');
    this.heartbeats = new Counter({ name: 'gpufleet_agent_heartbeats_total', help: 'Heartbeats sent, by result', labelNames: ['result'], registers: [this.registry] });
    const logBytes = new Counter({ name: 'gpufleet_agent_log_bytes_shipped_total', help: 'Bytes of replica output the server acknowledged', registers: [this.registry] });
    const replicas = this.replicas;
    new Gauge({
      name: 'gpufleet_agent_replicas',
      help: 'Replicas this agent knows, by state',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        for (const state of replicaStates) this.set({ state }, 0);
        for (const r of replicas.values()) this.inc({ state: r.state });
      },
    });
    this.shipper = new LogShipper({
      stateDir: this.stateDir,
      read: (externalId, stream, offset) => this.executor.logs(externalId, stream, offset),
      upload: (chunks) => this.client.uploadLogs(chunks, this.abort.signal),
      logger: this.logger,
      ...(internals.logPollIntervalMs === undefined ? {} : { pollIntervalMs: internals.logPollIntervalMs }),
      onShipped: (bytes) => logBytes.inc(bytes),
      onDrained: (replicaId) => this.logsDrained(replicaId),
    });
  }

  async start(): Promise<void> {
    const name = nameSchema.safeParse(this.options.name);
    if (!name.success) throw new Error(`node name "${this.options.name}" ${name.error.issues[0]?.message ?? 'is invalid'}`);
    this.inventory = await discoverGpus({
      nodeName: this.options.name,
      simulateGpus: this.options.simulateGpus,
      simulateGpusIfNone: this.options.simulateGpusIfNone,
      ...(this.internals.nvidiaSmi ? { queryGpus: this.internals.nvidiaSmi } : {}),
    });
    this.logger.info({ gpus: this.inventory.gpus.length, simulated: this.inventory.simulated }, this.inventory.summary);
    this.executor = new AgentExecutor({
      nodeName: this.options.name,
      stateDir: this.stateDir,
      gpus: this.inventory.gpus,
      cpus: availableParallelism(),
      memoryMiB: Math.floor(totalmem() / 1024 / 1024),
      ...(this.internals.runner?.pollIntervalMs === undefined ? {} : { pollIntervalMs: this.internals.runner.pollIntervalMs }),
    });
    const byModel = new Gauge({ name: 'gpufleet_agent_gpus', help: 'GPUs this node offers', labelNames: ['model', 'simulated'], registers: [this.registry] });
    for (const gpu of this.inventory.gpus) byModel.inc({ model: gpu.model, simulated: String(this.inventory.simulated) });
    try {
      await this.stateDir.init();
      await this.recoverReplicas();
      await this.establishIdentity();
      await this.startMetrics();
      // One heartbeat before returning: it reports recovered replicas and proves a stored credential.
      await this.heartbeat();
      if (this.fatal) throw this.fatal;
    } catch (err) {
      await this.shutdown(false);
      throw err;
    }
    this.shipper.start();
    this.readiness.start();
    this.startTelemetry();
    this.loops = [this.heartbeatLoop(), this.watchLoop(), this.statusLoop()];
  }

  async shutdown(stopReplicas: boolean): Promise<void> {
    this.stopped$ ??= this.stopAll(stopReplicas);
    return this.stopped$;
  }

  private async stopAll(stopReplicas: boolean): Promise<void> {
    if (stopReplicas) {
      this.draining = true;
      const active = [...this.replicas.values()].filter((r) => isActiveReplicaState(r.state));
      await Promise.all(
        active.map(async (r) => {
          this.stopReplica(r, r.assignment.gracePeriodMs);
          await r.started;
          if (r.externalId) await this.executor.stop(r.externalId, r.assignment.gracePeriodMs);
        }),
      );
      await this.pollStatus();
      // Output first, then the final states: a reader who sees the end finds every line.
      await Promise.race([this.shipper.flush(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      for (const r of this.replicas.values()) r.endedAt = null;
      await this.client.heartbeat({ replicas: this.reports() }, AbortSignal.timeout(2000)).catch(() => undefined);
    }
    this.stopped = true;
    this.abort.abort();
    this.wakeHeartbeat?.();
    await Promise.all(this.loops);
    await this.shipper.stop();
    await this.readiness.stop();
    await this.telemetry?.stop();
    this.executor.detach();
    await new Promise<void>((resolve) => (this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve()));
    this.metricsServer?.closeAllConnections();
    if (this.fatal) this.settleDone.reject(this.fatal);
    else this.settleDone.resolve();
  }

  // ---- identity ----

  private async establishIdentity(): Promise<void> {
    const stored = await this.stateDir.readNode();
    if (stored && stored.serverUrl.replace(/\/+$/, '') === this.serverUrl && stored.name === this.options.name) {
      this.identity = stored;
      this.client.setCredential(stored.credential);
      this.logger.info({ nodeId: stored.nodeId, stateDir: this.stateDir.root }, `node ${stored.name} (${stored.nodeId}) uses the credential kept in ${this.stateDir.root}`);
      return;
    }
    if (!this.options.joinToken) {
      const held = stored ? ` (it holds node ${stored.name} of ${stored.serverUrl})` : '';
      throw new Error(`${this.stateDir.root} holds no credential for node ${this.options.name} at ${this.serverUrl}${held}; give a join token to register`);
    }
    await this.register();
  }

  /** Registers with the join token, retrying while the server cannot be reached; other refusals are final. */
  private async register(): Promise<void> {
    const body = {
      joinToken: this.options.joinToken ?? '',
      name: this.options.name,
      gpus: this.inventory.gpus,
      simulated: this.inventory.simulated,
      labels: this.options.labels ?? {},
      cpus: availableParallelism(),
      memoryMiB: Math.floor(totalmem() / 1024 / 1024),
      agentVersion: this.version,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await this.client.register(body, this.abort.signal);
        this.serverAnswered();
        this.identity = { nodeId: answer.nodeId, credential: answer.credential, name: this.options.name, serverUrl: this.serverUrl };
        await this.stateDir.writeNode(this.identity);
        this.client.setCredential(answer.credential);
        this.heartbeatIntervalMs = Math.max(100, answer.heartbeatIntervalMs);
        this.revision = -1;
        this.gpusSent = false;
        this.logger.info({ nodeId: answer.nodeId }, `registered node ${this.options.name} (${answer.nodeId}) with ${this.serverUrl}`);
        return;
      } catch (err) {
        if (this.stopped || !isTransient(err)) {
          throw new Error(`cannot register node ${this.options.name} with ${this.serverUrl}: ${(err as Error).message}`);
        }
        this.serverFailed(err);
        await this.sleep(backoff(attempt));
      }
    }
  }

  /** The server refused the credential (the node was removed, or the server's data was reset). */
  private async credentialRefused(refused: string): Promise<void> {
    if (this.identity.credential !== refused || this.fatal) return; // already replaced, or given up
    if (!this.options.joinToken) {
      this.giveUp(new Error(`the server at ${this.serverUrl} refuses the credential of node ${this.options.name} (was the node removed?); start the agent with a join token to register it again`));
      return;
    }
    this.logger.warn(`the server refuses the credential of node ${this.options.name}; registering again with the join token`);
    this.reregistering ??= this.register()
      .catch((err: Error) => this.giveUp(err))
      .finally(() => (this.reregistering = null));
    await this.reregistering;
  }

  private giveUp(err: Error): void {
    if (this.stopped) return;
    this.fatal ??= err;
    this.logger.error(err.message);
    // During start() the caller gets the error instead; later, the agent stops and `done` rejects.
    if (this.loops.length > 0) void this.shutdown(false);
  }

  // ---- talking to the server ----

  private async heartbeatLoop(): Promise<void> {
    let failures = this.outageSince === null ? 0 : 1;
    while (!this.stopped) {
      await this.heartbeatPause(failures === 0 ? this.heartbeatIntervalMs : backoff(failures));
      if (this.stopped) return;
      failures = (await this.heartbeat()) ? 0 : failures + 1;
    }
  }

  /** Waits for the interval, or less when a replica changed state: the server learns of it at once. */
  private heartbeatPause(ms: number): Promise<void> {
    if (this.heartbeatWanted || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeHeartbeat = () => {
        this.wakeHeartbeat = null;
        done();
      };
    });
  }

  /** Asks for a heartbeat now; requests made while one is in flight are coalesced into the next. */
  private requestHeartbeat(): void {
    this.heartbeatWanted = true;
    this.wakeHeartbeat?.();
  }

  private async heartbeat(): Promise<boolean> {
    this.heartbeatWanted = false;
    const credential = this.identity.credential;
    const sendGpus = !this.gpusSent;
    const usage = this.usage?.pending() ?? [];
    const gpuStats = this.usage?.stats() ?? [];
    try {
      const desired = await this.client.heartbeat(
        { replicas: this.reports(), ...(sendGpus ? { gpus: this.inventory.gpus } : {}), ...(usage.length > 0 ? { usage } : {}), ...(gpuStats.length > 0 ? { gpuStats } : {}) },
        this.abort.signal,
      );
      if (sendGpus) this.gpusSent = true;
      this.usage?.acknowledge(usage.length);
      this.heartbeats.inc({ result: 'ok' });
      this.serverAnswered();
      this.apply(desired);
      return true;
    } catch (err) {
      if (this.stopped) return false;
      this.heartbeats.inc({ result: 'failed' });
      await this.handleFailure(err, credential);
      return false;
    }
  }

  private async watchLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const credential = this.identity.credential;
      try {
        const desired = await this.client.watchAssignments(this.revision, watchWaitMs, this.abort.signal);
        failures = 0;
        this.serverAnswered();
        this.apply(desired);
      } catch (err) {
        if (this.stopped) return;
        await this.handleFailure(err, credential);
        await this.sleep(backoff(++failures));
      }
    }
  }

  private async handleFailure(err: unknown, credential: string): Promise<void> {
    if (err instanceof ClientError && err.status === 401) await this.credentialRefused(credential);
    else this.serverFailed(err);
  }

  /** One warning per outage, not one per attempt; replicas run on meanwhile. */
  private serverFailed(err: unknown): void {
    if (this.outageSince !== null) return;
    this.outageSince = Date.now();
    this.logger.warn({ err: (err as Error).message }, `cannot talk to the gpufleet server (${(err as Error).message}); replicas keep running, logs stay on disk, retrying`);
  }

  private serverAnswered(): void {
    if (this.outageSince === null) return;
    const seconds = ((Date.now() - this.outageSince) / 1000).toFixed(1);
    this.outageSince = null;
    this.logger.info(`the gpufleet server answers again after ${seconds} s`);
    this.requestHeartbeat();
  }

  // ---- reconciling ----

  /** Makes local replicas match the server's list; every decision is taken synchronously, so two answers cannot both start a replica. */
  private apply(desired: DesiredState): void {
    if (this.stopped || desired.revision < this.revision) return;
    this.revision = desired.revision;
    this.heartbeatIntervalMs = Math.max(100, desired.heartbeatIntervalMs);
    const listed = new Map(desired.assignments.map((a) => [a.replicaId, a]));
    for (const assignment of desired.assignments) {
      const local = this.replicas.get(assignment.replicaId);
      if (!local) {
        if (assignment.desired === 'stop') this.recordNeverStarted(assignment);
        else if (!this.draining) this.startReplica(assignment);
      } else if (local.assignment.generation !== assignment.generation) {
        // A newer generation fences this copy; a replica id is never started twice, so nothing replaces it here.
        if (isActiveReplicaState(local.state)) {
          this.logger.warn({ replicaId: local.assignment.replicaId }, `replica ${local.assignment.replicaId} is now generation ${assignment.generation}; stopping the stale copy (generation ${local.assignment.generation})`);
          this.stopReplica(local, assignment.gracePeriodMs);
        }
      } else if (assignment.desired === 'stop') {
        this.stopReplica(local, assignment.gracePeriodMs);
      }
    }
    for (const [replicaId, local] of this.replicas) {
      if (listed.has(replicaId)) continue;
      if (isActiveReplicaState(local.state)) this.stopReplica(local, local.assignment.gracePeriodMs);
      else this.release(local);
    }
  }

  private startReplica(assignment: Assignment): void {
    const replicaId = assignment.replicaId;
    if (!isSafeFolderName(idempotencyKey(replicaId, assignment.generation))) {
      if (!this.unsafeIds.has(replicaId)) this.logger.error({ replicaId }, 'the server assigned a replica whose id cannot name a folder; ignoring it');
      this.unsafeIds.add(replicaId);
      return;
    }
    const local = this.addReplica(assignment, 'assigned');
    local.started = (async () => {
      let status: ExecutorReplicaStatus;
      try {
        // The port is chosen once and kept in the state dir with the assignment, so a re-adopted replica keeps it.
        if (assignment.service && assignment.service.port === null) local.assignment = { ...assignment, service: { ...assignment.service, port: await freePort() } };
        const { externalId } = await this.executor.launch(launchRequestOf(local.assignment), local.assignment);
        local.externalId = externalId;
        await this.shipper.track(replicaId, externalId, false);
        status = (await this.executor.status([externalId])).get(externalId)!;
      } catch (err) {
        // Nothing of it is known to ship.
        if (local.externalId === null) local.drained = true;
        this.finished(local, { state: 'failed', exitCode: null, message: `the agent could not start it: ${(err as Error).message}` });
        return;
      }
      if (!isActiveReplicaState(status.state)) return this.finished(local, status);
      if (local.stopWanted) {
        this.stopReplica(local, assignment.gracePeriodMs);
        return;
      }
      local.state = 'running';
      this.logger.info({ replicaId, workload: assignment.workloadName, externalId: local.externalId, gpus: assignment.gpuIndices }, `started replica ${replicaId} of ${assignment.workloadName}`);
      this.requestHeartbeat();
    })();
  }

  /** The server stopped a replica before this agent saw it run: report it stopped, never start it. */
  private recordNeverStarted(assignment: Assignment): void {
    const local = this.addReplica(assignment, 'stopped');
    local.message = 'stopped before it started';
    local.drained = true;
    this.requestHeartbeat();
  }

  private addReplica(assignment: Assignment, state: ReplicaState): LocalReplica {
    const local: LocalReplica = {
      assignment,
      state,
      exitCode: null,
      message: null,
      externalId: null,
      started: Promise.resolve(),
      stopWanted: false,
      released: false,
      drained: false,
      endedAt: null,
    };
    this.replicas.set(assignment.replicaId, local);
    return local;
  }

  private stopReplica(local: LocalReplica, gracePeriodMs: number): void {
    if (!isActiveReplicaState(local.state) || local.state === 'stopping') return;
    local.stopWanted = true;
    const externalId = local.externalId;
    if (externalId === null) return; // still starting: stopped as soon as it exists
    local.state = 'stopping';
    const replicaId = local.assignment.replicaId;
    this.logger.info({ replicaId, gracePeriodMs }, `stopping replica ${replicaId}`);
    this.requestHeartbeat();
    // The stop resolves once the process group is gone: its end is read at once rather than at the next poll.
    this.executor.stop(externalId, gracePeriodMs).then(
      () => this.pollStatus(),
      (err: Error) => this.logger.warn({ replicaId, err: err.message }, `stopping replica ${replicaId} failed`),
    );
  }

  /** Reads the executor's state of every replica it runs; ends are recorded. */
  private async pollStatus(): Promise<void> {
    const watched = [...this.replicas.values()].filter((r): r is LocalReplica & { externalId: string } => r.externalId !== null && (r.state === 'running' || r.state === 'stopping'));
    if (watched.length === 0) return;
    const statuses = await this.executor.status(watched.map((r) => r.externalId));
    for (const r of watched) {
      const status = statuses.get(r.externalId);
      if (status && !isActiveReplicaState(status.state)) this.finished(r, status);
    }
  }

  private async statusLoop(): Promise<void> {
    while (!this.stopped) {
      await this.sleep(this.internals.statusPollIntervalMs ?? defaultStatusPollMs);
      await this.pollStatus().catch((err: Error) => this.logger.warn({ err: err.message }, 'cannot read the replicas\' states'));
    }
  }

  private finished(local: LocalReplica, status: ExecutorReplicaStatus): void {
    if (this.stopped || !isActiveReplicaState(local.state)) return;
    setExit(local, status);
    const replicaId = local.assignment.replicaId;
    this.logger.info({ replicaId, state: local.state, exitCode: status.exitCode }, `replica ${replicaId} ${local.state}${status.message ? `: ${status.message}` : ''}`);
    local.endedAt = Date.now();
    this.shipper.finished(replicaId);
    this.requestHeartbeat();
    setTimeout(() => this.requestHeartbeat(), endHoldMs).unref();
  }

  private release(local: LocalReplica): void {
    local.released = true;
    if (local.drained) void this.prune(local);
  }

  private logsDrained(replicaId: string): void {
    const local = this.replicas.get(replicaId);
    if (!local) return;
    local.drained = true;
    if (local.released) void this.prune(local);
    else this.requestHeartbeat();
  }

  private async prune(local: LocalReplica): Promise<void> {
    const replicaId = local.assignment.replicaId;
    if (this.replicas.get(replicaId) !== local) return;
    this.replicas.delete(replicaId);
    this.shipper.forget(replicaId);
    if (local.externalId) await this.executor.remove(local.externalId).catch((err: Error) => this.logger.warn({ replicaId, err: err.message }, 'cannot remove a finished replica folder'));
  }

  private reports(): ReplicaReport[] {
    return [...this.replicas.values()]
      .filter((r) => !r.released)
      .map((r) => ({
        replicaId: r.assignment.replicaId,
        generation: r.assignment.generation,
        ...(holdsEnd(r) ? { state: 'running' as const, exitCode: null, message: null } : { state: r.state, exitCode: r.exitCode, message: r.message === null ? null : r.message.slice(0, 4096) }),
        ...this.serving(r),
      }));
  }

  /** A service replica's endpoint, and whether it is ready: running and answering its probe. */
  private serving(r: LocalReplica): Pick<ReplicaReport, 'endpoint' | 'ready'> {
    const port = r.assignment.service?.port;
    if (port === null || port === undefined) return {};
    return { endpoint: endpointUrl(this.advertiseAddress, port), ready: r.state === 'running' && r.endedAt === null && this.readiness.isReady(r.assignment.replicaId) };
  }

  private probeTargets(): Array<{ replicaId: string; url: string }> {
    const targets: Array<{ replicaId: string; url: string }> = [];
    for (const r of this.replicas.values()) {
      const service = r.assignment.service;
      if (r.state !== 'running' || !service || service.port === null) continue;
      targets.push({ replicaId: r.assignment.replicaId, url: `${endpointUrl(this.advertiseAddress, service.port)}${service.readinessPath}` });
    }
    return targets;
  }

  /** Picks up the replicas an earlier agent left in the state dir: running ones are watched again, ended ones reported. */
  private async recoverReplicas(): Promise<void> {
    for (const { externalId, assignment } of await this.executor.recover()) {
      const replicaId = assignment.replicaId;
      const local = this.addReplica(assignment, 'running');
      local.externalId = externalId;
      const status = (await this.executor.status([externalId])).get(externalId)!;
      const ended = !isActiveReplicaState(status.state);
      await this.shipper.track(replicaId, externalId, ended);
      if (ended) {
        setExit(local, status);
        const how = local.message ? `: ${local.message}` : '';
        this.logger.info({ replicaId, state: local.state, exitCode: local.exitCode }, `replica ${replicaId} ${local.state}${how} (recovered from the state dir)`);
      } else {
        this.logger.info({ replicaId, externalId }, `re-adopted replica ${replicaId} (${externalId}), still running`);
      }
    }
  }

  // ---- metrics ----

  private async startMetrics(): Promise<void> {
    if (this.options.metricsPort === undefined) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/metrics') {
        this.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': prometheusContentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      } else if (req.method === 'GET' && path === '/healthz') {
        const body = { status: 'ok', nodeId: this.identity.nodeId, serverReachable: this.outageSince === null, replicas: this.replicas.size };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
    const host = this.options.metricsHost ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.metricsPort, host, () => resolve());
    });
    this.metricsServer = server;
    const { port } = server.address() as AddressInfo;
    this.metricsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
  }

  /**
   * GPU telemetry: nvidia-smi for real GPUs, the synthetic model for simulated ones; under DCGM
   * exporter names on /metrics when it is served, and summarised for the server in every case.
   */
  private startTelemetry(): void {
    if (this.inventory.gpus.length === 0) return;
    const holderOf = (index: number) => this.gpuHolder(index);
    const gpus = this.inventory.gpus;
    const sampler = this.inventory.simulated ? new SimulatedSampler({ gpus, holderOf, seed: hashString(this.options.name) }) : new NvidiaSmiSampler();
    const dcgm = this.metricsServer ? new DcgmMetrics({ registry: this.registry, hostname: this.options.name, gpus, holderOf }) : null;
    const usage = new UsageSummarizer({ windowMs: this.options.usageWindowMs ?? 60_000 });
    this.usage = usage;
    const sink = (samples: GpuSample[]) => {
      dcgm?.update(samples);
      usage.add(samples, (index) => holderOf(index)?.replicaId ?? null, Date.now());
    };
    this.telemetry = new TelemetryLoop({ sampler, sink, intervalMs: this.options.telemetryIntervalMs, logger: this.logger });
    this.telemetry.start();
  }

  /** The running local replica assigned this GPU; team and queue are not in the assignment yet. */
  private gpuHolder(index: number): GpuHolder | null {
    for (const r of this.replicas.values()) {
      if (r.state !== 'running' || !r.assignment.gpuIndices.includes(index)) continue;
      return { replicaId: r.assignment.replicaId, workloadName: r.assignment.workloadName, team: r.assignment.team, queue: r.assignment.queue, env: r.assignment.env };
    }
    return null;
  }

  private sleep(ms: number): Promise<void> {
    if (this.abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }
}

/**
 * Whoever waits for a job's end (`run --wait`, then `logs`) must find all of its output: a replica
 * that ended is reported as still running until its output is shipped, for at most endHoldMs.
 */
const endHoldMs = 2000;

function holdsEnd(local: LocalReplica): boolean {
  return local.externalId !== null && !local.drained && local.endedAt !== null && Date.now() - local.endedAt < endHoldMs && !isActiveReplicaState(local.state);
}

function setExit(local: LocalReplica, status: ExecutorReplicaStatus): void {
  local.state = status.state;
  local.exitCode = status.exitCode;
  local.message = status.message;
}

function backoff(failures: number): number {
  return Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures - 1, 10));
}

/** Worth retrying: the server could not be reached or had a passing problem. */
function isTransient(err: unknown): boolean {
  return err instanceof ClientError && (err.code === 'unreachable' || (err.status !== null && err.status >= 500) || err.status === 429);
}

/** The package's version, from package.json two folders up (src/agent/) or three (dist/src/agent/). */
function readVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gpufleet' && pkg.version) return pkg.version;
    } catch {
      // not there: try the next location
    }
  }
  return '0.0.0';
}
