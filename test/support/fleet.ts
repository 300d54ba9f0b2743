import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HttpClient } from '../../src/client/http.js';
import type { Node, Workload } from '../../src/core/api-types.js';

/**
 * Real processes for integration tests and benchmarks: `gpufleet server` and `gpufleet agent`
 * started from the built CLI (npm test builds first), each in a temporary GPUFLEET_HOME.
 */

export const repoRoot = resolve(import.meta.dirname, '..', '..');
const bin = join(repoRoot, 'bin', 'gpufleet.js');

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `gpufleet-${prefix}-`));
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function launch(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function terminate(proc: Proc | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
  await proc.exited;
  clearTimeout(timer);
}

/** A start that fails must not leave its process behind to outlive the test run. */
async function killIfStartFails(proc: Proc, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    await terminate(proc, 'SIGKILL');
    throw err;
  }
}

export interface ServerOptions {
  databaseUrl?: string;
  /** A second server on the same database: it prints no tokens, so it uses the first one's. */
  tokensFrom?: ServerProcess;
  suspectAfterMs?: number;
  lostAfterMs?: number;
  heartbeatIntervalMs?: number;
  /** A scheduler config file (YAML) for --scheduler-config. */
  schedulerConfig?: string;
  /** More `gpufleet server` flags, e.g. --price-book. */
  extraArgs?: string[];
}

export class ServerProcess {
  readonly home = tempDir('server');
  readonly dataDir = join(this.home, 'data');
  url = '';
  adminToken = '';
  joinToken = '';
  private proc: Proc | undefined;
  private port = 0;

  constructor(private readonly options: ServerOptions = {}) {}

  async start(): Promise<this> {
    this.port ||= await freePort();
    const args = ['server', '--host', '127.0.0.1', '--port', String(this.port), '--data-dir', this.dataDir, '--log-level', 'warn'];
    if (this.options.databaseUrl) args.push('--database-url', this.options.databaseUrl);
    if (this.options.suspectAfterMs) args.push('--node-suspect-after-ms', String(this.options.suspectAfterMs));
    if (this.options.lostAfterMs) args.push('--node-lost-after-ms', String(this.options.lostAfterMs));
    if (this.options.heartbeatIntervalMs) args.push('--heartbeat-interval-ms', String(this.options.heartbeatIntervalMs));
    if (this.options.schedulerConfig) args.push('--scheduler-config', this.options.schedulerConfig);
    args.push(...(this.options.extraArgs ?? []));
    this.proc = launch(args, { GPUFLEET_HOME: this.home, DATABASE_URL: this.options.databaseUrl ?? '' });
    this.url = `http://127.0.0.1:${this.port}`;
    const proc = this.proc;
    await killIfStartFails(proc, async () => {
      await waitFor(`the server at ${this.url} (output so far: ${proc.output()})`, async () => {
        if (proc.child.exitCode !== null) throw new Error(`server exited with ${proc.child.exitCode}: ${proc.output()}`);
        const res = await fetch(`${this.url}/readyz`);
        return res.ok;
      }, 60_000);
      // Tokens are printed on a database's first start only; later starts keep the first ones.
      this.adminToken ||= this.options.tokensFrom?.adminToken ?? '';
      this.joinToken ||= this.options.tokensFrom?.joinToken ?? '';
      if (!this.adminToken || !this.joinToken) {
        // The server is ready a moment before the command prints the tokens.
        await waitFor(`the bootstrap tokens in the server's output (${proc.output()})`, async () => /gfj_[A-Za-z0-9_-]+/.test(proc.output()), 10_000);
        this.adminToken = /gfa_[A-Za-z0-9_-]+/.exec(proc.output())?.[0] ?? '';
        this.joinToken = /gfj_[A-Za-z0-9_-]+/.exec(proc.output())?.[0] ?? '';
      }
    });
    return this;
  }

  output(): string {
    return this.proc?.output() ?? '';
  }

  /** The process id, for measuring it (bench:telemetry). */
  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return terminate(this.proc, signal);
  }

  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    await this.start();
  }

  client(token = this.adminToken): HttpClient {
    return new HttpClient({ baseUrl: this.url, token });
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    rmSync(this.home, { recursive: true, force: true });
  }
}

export class AgentProcess {
  readonly stateDir = tempDir('agent');
  private proc: Proc | undefined;

  constructor(
    private readonly server: ServerProcess,
    readonly name: string,
    private readonly gpus = '8xH100-80GB',
    /** Node labels (--label key=value), e.g. topology. */
    private readonly labels: Record<string, string> = {},
    /** More `gpufleet agent` flags, e.g. --telemetry-interval-ms. */
    private readonly extraArgs: string[] = [],
  ) {}

  async start(): Promise<this> {
    this.proc = launch(
      ['agent', '--server', this.server.url, '--join-token', this.server.joinToken, '--name', this.name, '--state-dir', this.stateDir, '--simulate-gpus', this.gpus, '--metrics-port', '0', '--advertise-address', '127.0.0.1', '--log-level', 'warn', ...Object.entries(this.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), ...this.extraArgs],
      { GPUFLEET_HOME: this.stateDir },
    );
    const proc = this.proc;
    await killIfStartFails(proc, async () => {
      await waitFor(`agent ${this.name} to join`, async () => {
        if (proc.child.exitCode !== null) throw new Error(`agent exited with ${proc.child.exitCode}: ${proc.output()}`);
        const nodes = await this.server.client().request<{ items: Node[] }>('GET', '/v1/nodes');
        return nodes.items.some((n) => n.name === this.name && n.state === 'ready');
      }, 30_000);
    });
    return this;
  }

  output(): string {
    return this.proc?.output() ?? '';
  }

  /** The process id, for measuring it (bench:telemetry). */
  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return terminate(this.proc, signal);
  }

  /** The agent's /metrics URL, as it printed it when it joined. */
  metricsUrl(): string {
    const url = /metrics at (http:\/\/\S+\/metrics)/.exec(this.output())?.[1];
    if (url === undefined) throw new Error(`agent ${this.name} printed no metrics URL: ${this.output()}`);
    return url;
  }

  /** Pids of the replica processes this agent started (from its state dir). */
  replicaPids(): number[] {
    return this.replicaFolders()
      .map((folder) => this.folderPid(folder))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  }

  /** The pid of one replica's process group leader (its folder is named `<replicaId>.<generation>`); NaN when it has none (yet). */
  replicaPid(replicaId: string): number {
    const folder = this.replicaFolders().find((f) => f.startsWith(`${replicaId}.`));
    return folder === undefined ? NaN : this.folderPid(folder);
  }

  private replicaFolders(): string[] {
    try {
      return readdirSync(join(this.stateDir, 'replicas'));
    } catch {
      return [];
    }
  }

  private folderPid(folder: string): number {
    try {
      return Number(readFileSync(join(this.stateDir, 'replicas', folder, 'pid'), 'utf8').trim());
    } catch {
      return NaN;
    }
  }

  /** Kills the agent and every process group it started; a test leaves nothing running. */
  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    for (const pid of this.replicaPids()) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/** Runs the built CLI against `server` with its admin token; resolves with the exit code and output. */
export function runCli(server: ServerProcess, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, GPUFLEET_HOME: server.home, GPUFLEET_URL: server.url, GPUFLEET_TOKEN: server.adminToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => res({ code, stdout, stderr }));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function submit(client: HttpClient, body: Record<string, unknown>): Promise<Workload> {
  return client.request<Workload>('POST', '/v1/workloads', { body });
}

export function getWorkload(client: HttpClient, ref: string): Promise<Workload> {
  return client.request<Workload>('GET', `/v1/workloads/${ref}`);
}

export function waitForState(client: HttpClient, ref: string, states: Workload['state'][], timeoutMs = 20_000): Promise<Workload> {
  return waitFor(`workload ${ref} to reach ${states.join('|')}`, async () => {
    const w = await getWorkload(client, ref);
    return states.includes(w.state) ? w : undefined;
  }, timeoutMs);
}

export async function readAllLogs(client: HttpClient, ref: string): Promise<string> {
  let after = 0;
  let text = '';
  for (;;) {
    const page = await client.request<{ entries: { data: string }[]; cursor: number; done: boolean }>('GET', `/v1/workloads/${ref}/logs`, { query: { after } });
    text += page.entries.map((e) => e.data).join('');
    after = page.cursor;
    if (page.entries.length === 0) return text;
  }
}

/** `gpufleet gateway` in front of a server, reading its services with the admin token. */
export class GatewayProcess {
  url = '';
  private proc: Proc | undefined;

  constructor(
    private readonly server: ServerProcess,
    private readonly args: string[] = [],
  ) {}

  async start(): Promise<this> {
    const port = await freePort();
    const home = tempDir('gateway');
    this.proc = launch(['gateway', '--port', String(port), '--log-level', 'warn', ...this.args], { GPUFLEET_HOME: home, GPUFLEET_URL: this.server.url, GPUFLEET_TOKEN: this.server.adminToken });
    this.url = `http://127.0.0.1:${port}`;
    const proc = this.proc;
    await killIfStartFails(proc, async () => {
      await waitFor(`the gateway at ${this.url}`, async () => {
        if (proc.child.exitCode !== null) throw new Error(`gateway exited with ${proc.child.exitCode}: ${proc.output()}`);
        return (await fetch(`${this.url}/health`)).ok;
      }, 30_000);
    });
    return this;
  }

  output(): string {
    return this.proc?.output() ?? '';
  }

  stop(): Promise<void> {
    return terminate(this.proc, 'SIGTERM');
  }
}
