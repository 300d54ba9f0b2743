import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from '../../test/support/local-http-server.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testAssignment } from '../../test/support/assignments.js';
import type { Assignment, DesiredState, HeartbeatRequest, LogChunk, RegisterRequest, ReplicaReport } from '../core/agent-protocol.js';
import { isActiveReplicaState } from '../core/replica-state.js';
import { idempotencyKey } from '../executors/spi.js';
import { createLogger } from '../observe/logger.js';
import { runAgent, type AgentOptions, type RunningAgent } from './agent.js';
import { startReplica } from './process-runner.js';
import { StateDir } from './state-dir.js';

/**
 * Just enough of the server's side of the agent protocol (docs/api.md) to drive the agent: the real
 * server is tested against the agent elsewhere. Like the server, it drops a replica from the node's
 * list once the agent reports it ended.
 */
class FakeControlPlane extends LocalHttpServer {
  readonly registrations: RegisterRequest[] = [];
  readonly heartbeats: HeartbeatRequest[] = [];
  readonly logs = new Map<string, LogChunk>();
  readonly latest = new Map<string, ReplicaReport & { at: number }>();
  assignments: Assignment[] = [];
  revision = 1;
  heartbeatIntervalMs = 300;
  credential: string | null = null;
  joinToken = 'join-secret';
  down = false;
  /** When set, heartbeats are answered with this (an answer computed before a newer one). */
  staleAnswer: DesiredState | null = null;
  private watchers: Array<() => void> = [];

  assign(a: Assignment): void {
    this.assignments = [...this.assignments.filter((x) => x.replicaId !== a.replicaId), a];
    this.bump();
  }

  setDesired(replicaId: string, desired: 'run' | 'stop'): void {
    this.assignments = this.assignments.map((a) => (a.replicaId === replicaId ? { ...a, desired } : a));
    this.bump();
  }

  remove(replicaId: string): void {
    this.assignments = this.assignments.filter((a) => a.replicaId !== replicaId);
    this.bump();
  }

  logOf(replicaId: string, stream: string): string {
    return [...this.logs.values()]
      .filter((c) => c.replicaId === replicaId && c.stream === stream)
      .sort((a, b) => a.offset - b.offset)
      .map((c) => c.data)
      .join('');
  }

  private bump(): void {
    this.revision++;
    for (const wake of this.watchers.splice(0)) wake();
  }

  desired(): DesiredState {
    return { nodeState: 'ready', revision: this.revision, assignments: this.assignments, heartbeatIntervalMs: this.heartbeatIntervalMs };
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const body = parts.length > 0 ? (JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown) : undefined;
    const url = new URL(req.url ?? '/', this.url);
    const send = (status: number, answer?: unknown) => {
      if (answer === undefined) res.writeHead(status).end();
      else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    };
    if (this.down) return void req.socket.destroy();
    if (url.pathname === '/v1/agent/register') {
      const reg = body as RegisterRequest;
      if (reg.joinToken !== this.joinToken) return send(401, { code: 'unauthenticated', message: 'invalid join token' });
      this.registrations.push(reg);
      this.credential = `gfn_${this.registrations.length}`;
      return send(200, { nodeId: 'n-fake', credential: this.credential, heartbeatIntervalMs: this.heartbeatIntervalMs });
    }
    if (req.headers.authorization !== `Bearer ${this.credential}`) {
      return send(401, { code: 'unauthenticated', message: 'this node is no longer registered; register again' });
    }
    if (url.pathname === '/v1/agent/heartbeat') {
      const hb = body as HeartbeatRequest;
      this.heartbeats.push(hb);
      let changed = false;
      for (const r of hb.replicas) {
        if (this.latest.get(r.replicaId)?.state !== r.state) this.latest.set(r.replicaId, { ...r, at: Date.now() });
        if (!isActiveReplicaState(r.state) && this.assignments.some((a) => a.replicaId === r.replicaId)) {
          this.assignments = this.assignments.filter((a) => a.replicaId !== r.replicaId);
          changed = true;
        }
      }
      if (changed) this.bump();
      return send(200, this.staleAnswer ?? this.desired());
    }
    if (url.pathname === '/v1/agent/assignments') {
      if (Number(url.searchParams.get('revision')) === this.revision) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(Number(url.searchParams.get('waitMs')), 2000));
          this.watchers.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return send(200, this.desired());
    }
    if (url.pathname === '/v1/agent/logs') {
      for (const c of (body as { chunks: LogChunk[] }).chunks) this.logs.set(`${c.replicaId}/${c.stream}/${c.offset}`, c);
      return send(204);
    }
    send(404, { code: 'not_found', message: 'no such route' });
  }
}

let seq = 0;
function assignment(command: string[], overrides: Partial<Assignment> = {}): Assignment {
  seq++;
  return testAssignment({ replicaId: `r-agent${seq}`, workloadId: `j-${seq}`, workloadName: `job-${seq}`, gpuIndices: [0], gpuUuids: ['GPU-sim-node-a-0'], command, gracePeriodMs: 2000, ...overrides });
}

async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('agent', () => {
  let root: string;
  let stateDir: string;
  let server: FakeControlPlane;
  let agents: RunningAgent[];
  let logLines: Array<{ level: number; msg: string }>;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gpufleet-agent-'));
    stateDir = join(root, 'state');
    server = new FakeControlPlane();
    await server.start();
    agents = [];
    logLines = [];
  });
  afterEach(async () => {
    for (const a of agents) await a.stop({ stopReplicas: true });
    await server.stop();
    await rm(root, { recursive: true, force: true });
  });

  async function start(overrides: Partial<AgentOptions> = {}): Promise<RunningAgent> {
    const logger = createLogger({ name: 'agent', level: 'debug', destination: { write: (line: string) => void logLines.push(JSON.parse(line)) } });
    const agent = await runAgent(
      { serverUrl: server.url, joinToken: server.joinToken, name: 'node-a', stateDir, simulateGpusIfNone: '2xH100-80GB', logger, ...overrides },
      { nvidiaSmi: async () => ({ gpus: [], problem: 'nvidia-smi: not found' }), runner: { pollIntervalMs: 50 }, logPollIntervalMs: 20 },
    );
    agents.push(agent);
    return agent;
  }

  it('registers with simulated GPUs and says so', async () => {
    const agent = await start({ labels: { zone: 'a' } });
    expect(agent).toMatchObject({ nodeId: 'n-fake', name: 'node-a', simulated: true, metricsUrl: null });
    expect(agent.gpus.map((g) => g.uuid)).toEqual(['GPU-sim-node-a-0', 'GPU-sim-node-a-1']);
    expect(server.registrations[0]).toMatchObject({ name: 'node-a', simulated: true, labels: { zone: 'a' }, gpus: agent.gpus });
    expect(server.registrations[0]!.cpus).toBeGreaterThan(0);
    expect(server.heartbeats[0]?.gpus).toEqual(agent.gpus);
    await waitFor('a second heartbeat', () => server.heartbeats.length >= 2);
    expect(server.heartbeats[1]?.gpus).toBeUndefined();
    expect(logLines.map((l) => l.msg)).toContain('no NVIDIA GPU found (nvidia-smi: not found); using 2 SIMULATED GPUs (2xH100-80GB)');
    expect(await new StateDir(stateDir).readNode()).toEqual({ nodeId: 'n-fake', credential: 'gfn_1', name: 'node-a', serverUrl: server.url });
  });

  it('gives a service replica a port, reports its endpoint and readiness, and keeps the port when re-adopted', async () => {
    await start({ advertiseAddress: '127.0.0.1' });
    const serve = "require('http').createServer((q, s) => s.writeHead(q.url === '/ready' ? 200 : 404).end()).listen(+process.env.PORT, '127.0.0.1'); console.log(process.env.PORT, process.env.GPUFLEET_PORT)";
    const a = assignment([process.execPath, '-e', serve], { service: { model: 'm', version: 'v1', port: null, readinessPath: '/ready' } });
    server.assign(a);
    // A node process starting on a busy machine takes a while: wait longer than for a shell.
    const ready = await waitFor('ready', () => server.heartbeats.at(-1)?.replicas.find((r) => r.replicaId === a.replicaId && r.ready === true), 20_000);
    const port = Number(/:(\d+)$/.exec(ready.endpoint!)![1]);
    expect(ready.endpoint).toBe(`http://127.0.0.1:${port}`);
    await waitFor('its output', () => server.logOf(a.replicaId, 'stdout') === `${port} ${port}\n`);
    await agents.pop()!.stop();
    const before = server.heartbeats.length;
    await start({ advertiseAddress: '127.0.0.1' });
    const again = await waitFor('ready after re-adoption', () => server.heartbeats.slice(before).find((h) => h.replicas.some((r) => r.replicaId === a.replicaId && r.ready === true)), 20_000);
    expect(again.replicas.find((r) => r.replicaId === a.replicaId)!.endpoint).toBe(`http://127.0.0.1:${port}`);
  });

  it('runs an assignment, reports it running and its exit, ships its logs, then prunes it', async () => {
    await start();
    const a = assignment(['sh', '-c', 'echo "gpus=$CUDA_VISIBLE_DEVICES"; sleep 0.3; echo done >&2']);
    server.assign(a);
    await waitFor('running', () => server.latest.get(a.replicaId)?.state === 'running');
    const ended = await waitFor('succeeded', () => (server.latest.get(a.replicaId)?.state === 'succeeded' ? server.latest.get(a.replicaId) : null));
    expect(ended).toMatchObject({ generation: 1, exitCode: 0, message: null });
    await waitFor('logs', () => server.logOf(a.replicaId, 'stderr') === 'done\n');
    expect(server.logOf(a.replicaId, 'stdout')).toBe('gpus=0\n');
    await waitFor('the folder pruned', () => !existsSync(join(stateDir, 'replicas', idempotencyKey(a.replicaId, a.generation))));
    expect(server.assignments).toEqual([]);
  });

  it('reports running within milliseconds of an assignment, without waiting for the heartbeat timer', async () => {
    server.heartbeatIntervalMs = 10_000;
    await start();
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      const a = assignment(['sleep', '30']);
      const assignedAt = Date.now();
      server.assign(a);
      const running = await waitFor('running', () => (server.latest.get(a.replicaId)?.state === 'running' ? server.latest.get(a.replicaId) : null));
      delays.push(running.at - assignedAt);
    }
    delays.sort((x, y) => x - y);
    expect(delays[19]).toBeLessThan(1000);
  });

  it('reports failures with their exit code and message', async () => {
    await start();
    const fails = assignment(['sh', '-c', 'exit 3']);
    const missing = assignment(['no-such-program-gpufleet']);
    server.assign(fails);
    server.assign(missing);
    expect(await waitFor('failed', () => server.latest.get(fails.replicaId)?.state === 'failed' && server.latest.get(fails.replicaId))).toMatchObject({
      exitCode: 3,
      message: 'exited with code 3',
    });
    expect(await waitFor('failed', () => server.latest.get(missing.replicaId)?.state === 'failed' && server.latest.get(missing.replicaId))).toMatchObject({
      exitCode: 127,
      message: 'cannot start no-such-program-gpufleet: command not found in PATH',
    });
  });

  it('stops a replica the server wants stopped, or no longer lists', async () => {
    await start();
    const a = assignment(['sleep', '30']);
    const b = assignment(['sleep', '30']);
    server.assign(a);
    server.assign(b);
    await waitFor('both running', () => server.latest.get(a.replicaId)?.state === 'running' && server.latest.get(b.replicaId)?.state === 'running');
    server.setDesired(a.replicaId, 'stop');
    server.remove(b.replicaId);
    expect(await waitFor('a stopped', () => server.latest.get(a.replicaId)?.state === 'stopped' && server.latest.get(a.replicaId))).toMatchObject({
      exitCode: 143,
      message: 'stopped by gpufleet',
    });
    const pid = await new StateDir(stateDir).readPid(idempotencyKey(b.replicaId, b.generation));
    await waitFor('b gone', () => {
      try {
        process.kill(pid!.pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });

  it('kills a stale copy after a generation bump and does not start the replica again', async () => {
    await start();
    const counter = join(root, 'starts.txt');
    const a = assignment(['sh', '-c', `echo start >> ${counter}; exec sleep 30`]);
    server.assign(a);
    await waitFor('started', () => existsSync(counter) && readFileSync(counter, 'utf8') === 'start\n');
    server.assign({ ...a, generation: 2 });
    expect(await waitFor('stopped', () => server.latest.get(a.replicaId)?.state === 'stopped' && server.latest.get(a.replicaId))).toMatchObject({ generation: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(await readFile(counter, 'utf8')).toBe('start\n');
  });

  it('ignores an answer older than one it already applied', async () => {
    await start();
    server.staleAnswer = server.desired(); // lists nothing
    const a = assignment(['sleep', '30']);
    server.assign(a);
    await waitFor('running', () => server.latest.get(a.replicaId)?.state === 'running');
    const seen = server.heartbeats.length;
    await waitFor('two more heartbeats', () => server.heartbeats.length >= seen + 2);
    expect(server.latest.get(a.replicaId)?.state).toBe('running');
    server.staleAnswer = null;
  });

  it('reports a replica stopped before it started, and never starts it', async () => {
    await start();
    const a = assignment(['sh', '-c', 'echo ran > ran.txt'], { desired: 'stop', workdir: root });
    server.assign(a);
    expect(await waitFor('stopped', () => server.latest.get(a.replicaId))).toMatchObject({ state: 'stopped', message: 'stopped before it started' });
    expect(existsSync(join(root, 'ran.txt'))).toBe(false);
  });

  it('leaves replicas running across a restart, re-adopts them and never starts one twice', async () => {
    const first = await start();
    const counter = join(root, 'starts.txt');
    const long = assignment(['sh', '-c', `echo start >> ${counter}; sleep 0.8; exit 7`]);
    server.assign(long);
    await waitFor('running', () => server.latest.get(long.replicaId)?.state === 'running');
    await first.stop();
    agents = [];

    // The agent is away while the process ends; the next one still learns its exit code.
    await new Promise((r) => setTimeout(r, 1000));
    const second = await start({ joinToken: undefined });
    expect(second.nodeId).toBe('n-fake');
    expect(server.registrations).toHaveLength(1);
    expect(await waitFor('failed', () => server.latest.get(long.replicaId)?.state === 'failed' && server.latest.get(long.replicaId))).toMatchObject({
      exitCode: 7,
      message: 'exited with code 7',
    });
    expect(await readFile(counter, 'utf8')).toBe('start\n');
  });

  it('re-adopts a replica from a state dir of the older layout (a folder named by the replica id alone)', async () => {
    // What an agent before the executor SPI left behind: replicas/<replicaId>/, its process still running.
    const old = new StateDir(stateDir);
    await old.init();
    const counter = join(root, 'starts.txt');
    const a = assignment(['sh', '-c', `echo start >> ${counter}; echo from-the-old-agent; sleep 0.8; exit 5`]);
    await startReplica(a.replicaId, a, { stateDir: old });
    server.assign(a);
    await start({ joinToken: server.joinToken });
    expect(logLines.some((l) => l.msg.startsWith(`re-adopted replica ${a.replicaId} (${a.replicaId})`))).toBe(true);
    expect(await waitFor('failed', () => server.latest.get(a.replicaId)?.state === 'failed' && server.latest.get(a.replicaId))).toMatchObject({ exitCode: 5, message: 'exited with code 5' });
    await waitFor('its output', () => server.logOf(a.replicaId, 'stdout') === 'from-the-old-agent\n');
    await waitFor('the old folder pruned', () => !existsSync(join(stateDir, 'replicas', a.replicaId)));
    expect(await readFile(counter, 'utf8')).toBe('start\n');
    expect(existsSync(join(stateDir, 'replicas', idempotencyKey(a.replicaId, a.generation)))).toBe(false);
  });

  it('watches a re-adopted replica that is still running', async () => {
    const first = await start();
    const a = assignment(['sh', '-c', 'sleep 0.6; exit 0']);
    server.assign(a);
    await waitFor('running', () => server.latest.get(a.replicaId)?.state === 'running');
    await first.stop();
    agents = [];
    await start({ joinToken: undefined });
    expect(logLines.some((l) => l.msg.startsWith(`re-adopted replica ${a.replicaId}`))).toBe(true);
    await waitFor('succeeded', () => server.latest.get(a.replicaId)?.state === 'succeeded');
  });

  it('registers again when the server forgets the node, if it has a join token', async () => {
    await start();
    server.credential = 'gfn_rotated';
    await waitFor('a second registration', () => server.registrations.length === 2);
    await waitFor('the new credential kept', async () => (await new StateDir(stateDir).readNode())?.credential === 'gfn_2');
  });

  it('refuses to start with a refused credential and no join token', async () => {
    const first = await start();
    await first.stop();
    agents = [];
    server.credential = 'gfn_rotated';
    await expect(start({ joinToken: undefined })).rejects.toThrow(/refuses the credential of node node-a.*join token/);
  });

  it('needs a join token to register', async () => {
    await expect(start({ joinToken: undefined })).rejects.toThrow(/holds no credential for node node-a.*give a join token/);
    await expect(start({ joinToken: 'wrong' })).rejects.toThrow(/cannot register node node-a.*invalid join token/);
  });

  it('rides out a server outage: one warning, replicas keep running, reports resume', async () => {
    await start();
    const a = assignment(['sh', '-c', 'sleep 0.5; echo finished']);
    server.assign(a);
    await waitFor('running', () => server.latest.get(a.replicaId)?.state === 'running');
    server.down = true;
    await new Promise((r) => setTimeout(r, 1500));
    const warnings = logLines.filter((l) => l.level === 40 && l.msg.startsWith('cannot talk to the gpufleet server'));
    expect(warnings).toHaveLength(1);
    expect(server.latest.get(a.replicaId)?.state).toBe('running');
    server.down = false;
    await waitFor('succeeded after the outage', () => server.latest.get(a.replicaId)?.state === 'succeeded', 5000);
    await waitFor('logs after the outage', () => server.logOf(a.replicaId, 'stdout') === 'finished\n');
    expect(logLines.some((l) => l.msg.startsWith('the gpufleet server answers again'))).toBe(true);
  });

  it('waits for the server to register, and starts without it once registered', async () => {
    server.down = true;
    const starting = start();
    await new Promise((r) => setTimeout(r, 300));
    server.down = false;
    const first = await starting;
    expect(server.registrations).toHaveLength(1);
    await first.stop();
    agents = [];

    server.down = true;
    const second = await start({ joinToken: undefined });
    expect(second.nodeId).toBe('n-fake');
    const seen = server.heartbeats.length;
    server.down = false;
    await waitFor('heartbeats again', () => server.heartbeats.length > seen, 3000);
  });

  it('serves metrics and health', async () => {
    const agent = await start({ metricsPort: 0 });
    expect(agent.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const a = assignment(['sleep', '30']);
    server.assign(a);
    await waitFor('running', () => server.latest.get(a.replicaId)?.state === 'running');
    await waitFor('a heartbeat counted', () => server.heartbeats.length >= 2);
    const metrics = await (await fetch(agent.metricsUrl!)).text();
    expect(metrics).toContain('gpufleet_agent_replicas{state="running",process="agent"} 1');
    expect(metrics).toContain('gpufleet_agent_gpus{model="H100-80GB",simulated="true",process="agent"} 2');
    expect(metrics).toMatch(/gpufleet_agent_heartbeats_total\{result="ok",process="agent"\} [1-9]/);
    expect(metrics).toContain('gpufleet_agent_log_bytes_shipped_total');
    const health = await fetch(agent.metricsUrl!.replace('/metrics', '/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', nodeId: 'n-fake', serverReachable: true });
  });

  it('stops its replicas when asked to, and tells the server', async () => {
    const agent = await start();
    const a = assignment(['sleep', '30']);
    server.assign(a);
    await waitFor('running', () => server.latest.get(a.replicaId)?.state === 'running');
    await agent.stop({ stopReplicas: true });
    agents = [];
    expect(server.latest.get(a.replicaId)).toMatchObject({ state: 'stopped', exitCode: 143 });
    await expect(agent.done).resolves.toBeUndefined();
  });
});
