import { spawn, type ChildProcess } from 'node:child_process';
import { access, appendFile, constants as fsConstants, open, readFile, readdir, stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { Assignment } from '../core/agent-protocol.js';
import type { Gpu } from '../core/api-types.js';
import { visibleDevices } from './mig-devices.js';
import type { ExitRecord, PidRecord, StateDir } from './state-dir.js';

/**
 * Runs a replica as a real process that does not depend on the agent: it has its own session and
 * process group, writes straight into files in the replica's folder, and keeps running when the agent
 * stops or dies. A later agent re-adopts it by pid (checked against the recorded start time).
 *
 * Processes are launched through a small sh wrapper that writes the exit status to the replica's
 * `exit` file. Without it, a replica that ends while the agent is down (restart, upgrade, crash)
 * would be reported failed with an unknown status, since only a process's parent learns how it ended;
 * a job that succeeded during an agent upgrade would count as a failure. The cost is one idle sh per
 * replica, and an exit status of 128+n when the command died of signal n (the shell convention),
 * reported as "killed by SIGn".
 *
 * The wrapper traps no signal, so a SIGTERM to the group ends it as well: a stopped replica's exit
 * code is the wrapper's (143), or 137 when the grace period ran out, and the stop waits for the rest
 * of the group either way. (A trap would keep it alive to record the command's own status, but a
 * trapping shell absorbs a SIGTERM that lands while it is still starting the command, which then runs
 * until the SIGKILL; a stop right after a start, a cancel or a preemption, is common enough to matter.)
 * The command runs as `(exec "$@")` rather than plainly for a similar reason: dash starts a plain
 * command with vfork while it blocks signals, and a group SIGTERM sent at that moment reaches the
 * shell but not the new process.
 */
const wrapperScript = '(exec "$@"); code=$?; echo "$code" > "$GPUFLEET_EXIT_FILE"; exit "$code"';

/** How often a stop checks whether the replica's process group is empty. */
const stopPollMs = 50;

export const unknownExitMessage = 'exited while the agent was down; exit status unknown';

export interface RunnerOptions {
  stateDir: StateDir;
  /** How often a re-adopted process, which is not the agent's child, is checked; 500 ms by default. */
  pollIntervalMs?: number;
  /** The environment replicas inherit (minus GPUFLEET_*); the agent's own by default. */
  baseEnv?: NodeJS.ProcessEnv;
  /** The node's GPUs, to name MIG instances by UUID; without them devices are named by index. */
  gpus?: readonly Gpu[];
}

/**
 * Starts a replica in the state dir's folder `id`. Never throws for the replica's sake: a command that
 * cannot start gives a process that already failed with 127.
 */
export async function startReplica(id: string, assignment: Assignment, options: RunnerOptions): Promise<ReplicaProcess> {
  const paths = await options.stateDir.createReplica(id, assignment);
  const cwd = assignment.workdir ?? paths.dir;
  const env = replicaEnv(assignment, paths.exit, options.baseEnv ?? process.env, options.gpus ?? []);
  const replica = new ReplicaProcess(id, options);

  const problem = await whyCannotStart(assignment.command, cwd, env.PATH);
  if (problem !== null) {
    await appendFile(paths.stderr, `gpufleet: ${problem}\n`);
    await replica.finish({ exitCode: 127, message: problem, stopped: false });
    return replica;
  }

  const out = await open(paths.stdout, 'a', 0o600);
  const err = await open(paths.stderr, 'a', 0o600);
  let child: ChildProcess;
  let started: Promise<Error | null>;
  try {
    child = spawn('/bin/sh', ['-c', wrapperScript, 'sh', ...assignment.command], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', out.fd, err.fd],
    });
    started = new Promise((resolveStarted) => {
      child.once('spawn', () => resolveStarted(null));
      child.once('error', (e) => resolveStarted(e));
    });
    replica.watchChild(child);
  } finally {
    // The child holds its own copies of the descriptors from here on.
    await out.close();
    await err.close();
  }
  if (child.pid !== undefined) await options.stateDir.writePid(id, { pid: child.pid, startTime: await processStartTime(child.pid) });
  const spawnError = await started;
  if (spawnError) await replica.finish({ exitCode: 127, message: `cannot start: ${spawnError.message}`, stopped: false });
  return replica;
}

/**
 * Picks up a replica from an earlier agent: watches its process if it still runs, otherwise returns a
 * replica that has already ended, with the status the wrapper recorded (or an unknown one).
 */
export async function adoptReplica(id: string, options: RunnerOptions): Promise<ReplicaProcess> {
  const replica = new ReplicaProcess(id, options);
  const recorded = await readRecordedExit(options.stateDir, id);
  const pid = await options.stateDir.readPid(id);
  if (recorded) await replica.finish(recorded);
  else if (pid && (await isSameProcess(pid))) replica.watchPid(pid);
  else await replica.finish({ exitCode: null, message: unknownExitMessage, stopped: false });
  return replica;
}

/** One replica's process, started by this agent or adopted from an earlier one. */
export class ReplicaProcess {
  /** Its folder in the state dir. */
  readonly id: string;
  /** How the replica ended; null while it runs. */
  result: ExitRecord | null = null;
  readonly exited: Promise<ExitRecord>;

  private resolveExited!: (record: ExitRecord) => void;
  private readonly stateDir: StateDir;
  private readonly pollIntervalMs: number;
  private child: ChildProcess | null = null;
  /** The process group leader: the wrapper, whose pid is also the group id. */
  private leader: PidRecord | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private stop: { gracePeriodMs: number; escalated: boolean } | null = null;
  /** The leader's status once it is gone, while a stop waits for the rest of its group. */
  private leaderExit: ExitRecord | null = null;
  private detached = false;

  constructor(id: string, options: RunnerOptions) {
    this.id = id;
    this.stateDir = options.stateDir;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.exited = new Promise((r) => (this.resolveExited = r));
  }

  get pid(): number | null {
    return this.leader?.pid ?? null;
  }

  /** SIGTERM to the process group, SIGKILL to it after the grace period; resolves once the whole group is gone. */
  terminate(gracePeriodMs: number): Promise<ExitRecord> {
    const pgid = this.pid;
    if (this.result || this.stop || pgid === null) return this.exited;
    this.stop = { gracePeriodMs, escalated: false };
    signalGroup(pgid, 'SIGTERM');
    this.killTimer = setTimeout(() => {
      if (!this.stop) return;
      this.stop.escalated = true;
      signalGroup(pgid, 'SIGKILL');
      if (this.leaderExit) void this.finish(this.leaderExit);
    }, gracePeriodMs);
    return this.exited;
  }

  /** Stops watching without touching the process: it runs on, and the next agent re-adopts it. */
  detach(): void {
    this.detached = true;
    this.clearTimers();
    this.child?.removeAllListeners('exit');
    // Nothing waits for it any more: it must not keep a stopped agent's process alive.
    this.child?.unref();
  }

  watchChild(child: ChildProcess): void {
    this.child = child;
    if (child.pid !== undefined) this.leader = { pid: child.pid, startTime: null };
    child.once('exit', (code, signal) => this.leaderGone(signal ? exitFromSignal(signal) : exitFromCode(code ?? 0)));
  }

  watchPid(record: PidRecord): void {
    this.leader = record;
    this.schedulePoll();
  }

  async finish(record: ExitRecord): Promise<void> {
    if (this.result) return;
    this.clearTimers();
    const final = this.stop
      ? { exitCode: this.stop.escalated ? 128 + osConstants.signals.SIGKILL : record.exitCode, message: stopMessage(this.stop), stopped: true }
      : record;
    this.result = final;
    if (!this.detached) await this.stateDir.writeExit(this.id, final).catch(() => undefined);
    this.resolveExited(final);
  }

  private leaderGone(record: ExitRecord): void {
    const pgid = this.pid;
    if (this.detached || this.result || pgid === null) return;
    if (!this.stop) {
      // What is left of its group would hold GPUs that the server is about to hand to someone else.
      signalGroup(pgid, 'SIGKILL');
      void this.finish(record);
      return;
    }
    this.leaderExit = record;
    if (this.stop.escalated) void this.finish(record);
    else void this.poll();
  }

  private schedulePoll(): void {
    if (this.pollTimer || this.result || this.detached) return;
    const interval = this.stop ? Math.min(stopPollMs, this.pollIntervalMs) : this.pollIntervalMs;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.poll();
    }, interval);
  }

  /** Polling serves a re-adopted process (no 'exit' event for it) and a stop that waits for the rest of a group. */
  private async poll(): Promise<void> {
    const leader = this.leader;
    if (this.result || this.detached || leader === null) return;
    if (this.leaderExit) {
      if (await groupAlive(leader.pid)) this.schedulePoll();
      else await this.finish(this.leaderExit);
    } else if (this.child === null && !(await isSameProcess(leader))) {
      this.leaderGone((await readRecordedExit(this.stateDir, this.id)) ?? { exitCode: null, message: unknownExitMessage, stopped: false });
    } else {
      this.schedulePoll();
    }
  }

  private clearTimers(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.killTimer) clearTimeout(this.killTimer);
    this.pollTimer = null;
    this.killTimer = null;
  }
}

/** The `exit` file, with a message added when only the wrapper's bare status is there. */
async function readRecordedExit(stateDir: StateDir, id: string): Promise<ExitRecord | null> {
  const recorded = await stateDir.readExit(id);
  if (recorded && recorded.message === null && recorded.exitCode !== null) return { ...exitFromCode(recorded.exitCode), stopped: recorded.stopped };
  return recorded;
}

function stopMessage(stop: { gracePeriodMs: number; escalated: boolean }): string {
  return stop.escalated ? `stopped by gpufleet; killed with SIGKILL after the ${stop.gracePeriodMs} ms grace period` : 'stopped by gpufleet';
}

function exitFromCode(code: number): ExitRecord {
  if (code === 0) return { exitCode: 0, message: null, stopped: false };
  const signal = code > 128 ? signalName(code - 128) : null;
  return { exitCode: code, message: signal ? `killed by ${signal}` : `exited with code ${code}`, stopped: false };
}

function exitFromSignal(signal: NodeJS.Signals): ExitRecord {
  return { exitCode: 128 + (osConstants.signals[signal] ?? 0), message: `killed by ${signal}`, stopped: false };
}

function signalName(signo: number): string | null {
  for (const [name, n] of Object.entries(osConstants.signals)) if (n === signo) return name;
  return null;
}

/** The replica's environment: the agent's own without GPUFLEET_* (join tokens and such), then the workload's, then gpufleet's. */
function replicaEnv(assignment: Assignment, exitFile: string, base: NodeJS.ProcessEnv, gpus: readonly Gpu[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined && !key.startsWith('GPUFLEET_')) env[key] = value;
  const devices = visibleDevices(assignment.gpuIndices, gpus);
  return {
    ...env,
    ...assignment.env,
    CUDA_VISIBLE_DEVICES: devices,
    NVIDIA_VISIBLE_DEVICES: devices,
    GPUFLEET_WORKLOAD: assignment.workloadName,
    GPUFLEET_REPLICA_ID: assignment.replicaId,
    GPUFLEET_EXIT_FILE: exitFile,
    GPUFLEET_REPLICA_INDEX: String(assignment.replicaIndex ?? 0),
    GPUFLEET_REPLICAS: String(assignment.replicas ?? 1),
    ...gpuShareEnv(assignment),
    ...serviceEnv(assignment),
  };
}

/** A service replica listens where it is told: PORT is what most model servers (and sim-model) read. */
function serviceEnv(assignment: Assignment): Record<string, string> {
  const port = assignment.service?.port;
  if (port === null || port === undefined) return {};
  return { PORT: String(port), GPUFLEET_PORT: String(port), GPUFLEET_MODEL: assignment.service!.model };
}

/**
 * A replica holding a share of one GPU sees that one GPU (CUDA_VISIBLE_DEVICES above) and is told
 * its share, so a framework can cap itself (e.g. PyTorch's per-process memory fraction); nothing
 * enforces it on the GPU.
 */
function gpuShareEnv(assignment: Assignment): Record<string, string> {
  if (assignment.gpuFraction === null || assignment.gpuFraction === undefined) return {};
  return {
    GPUFLEET_GPU_FRACTION: String(assignment.gpuFraction),
    ...(assignment.gpuMemoryMiB !== null && assignment.gpuMemoryMiB !== undefined ? { GPUFLEET_GPU_MEMORY_MIB: String(assignment.gpuMemoryMiB) } : {}),
  };
}

/**
 * What would stop the command from starting, said plainly; null when it looks startable. Checked
 * before spawning because through the wrapper these would only surface as "sh: 1: x: not found".
 */
export async function whyCannotStart(command: string[], cwd: string, path: string | undefined): Promise<string | null> {
  const program = command[0];
  if (!program) return 'cannot start: the command is empty';
  try {
    if (!(await stat(cwd)).isDirectory()) return `cannot start ${program}: working directory ${cwd} is not a directory`;
    await access(cwd, fsConstants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `cannot start ${program}: working directory ${cwd} ${code === 'ENOENT' ? 'does not exist' : 'cannot be entered (permission denied)'}`;
  }
  const candidates = program.includes('/') ? [resolve(cwd, program)] : (path ?? '').split(delimiter).map((dir) => join(resolve(cwd, dir || '.'), program));
  let denied: string | null = null;
  for (const candidate of candidates) {
    try {
      if ((await stat(candidate)).isDirectory()) {
        denied ??= `cannot start ${program}: ${candidate} is a directory`;
        continue;
      }
      await access(candidate, fsConstants.X_OK);
      return null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') denied ??= `cannot start ${program}: ${candidate} is not executable (permission denied)`;
    }
  }
  if (denied) return denied;
  return program.includes('/') ? `cannot start ${program}: no such file` : `cannot start ${program}: command not found in PATH`;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  if (pgid <= 1) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Whether any live process remains in the group. Zombies do not count: they hold no GPU, and where
 * init does not reap orphans (some containers) they would make every stop last its full grace period.
 */
async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readProcStat(Number(entry));
    if (stat && stat[2] === String(pgid) && stat[0] !== 'Z' && stat[0] !== 'X') return true;
  }
  return false;
}

/** Fields of /proc/<pid>/stat from field 3 (state) on; null when the process is gone. */
async function readProcStat(pid: number): Promise<string[] | null> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Start time (field 22 of /proc/<pid>/stat); null when the process is gone or a zombie. */
export async function processStartTime(pid: number): Promise<string | null> {
  const fields = await readProcStat(pid);
  if (!fields || fields[0] === 'Z' || fields[0] === 'X') return null;
  return fields[19] ?? null;
}

/** Alive and the same process as recorded: a pid alone may have been reused since. */
export async function isSameProcess(record: PidRecord): Promise<boolean> {
  if (record.startTime === null) return false;
  try {
    process.kill(record.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return (await processStartTime(record.pid)) === record.startTime;
}
