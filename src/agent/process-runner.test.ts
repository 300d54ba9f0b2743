import { chmod, mkdtemp, readFile, realpath, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testAssignment } from '../../test/support/assignments.js';
import type { Assignment } from '../core/agent-protocol.js';
import { StateDir } from './state-dir.js';
import { adoptReplica, isSameProcess, processStartTime, startReplica, unknownExitMessage, whyCannotStart, type ReplicaProcess, type RunnerOptions } from './process-runner.js';

function assignment(command: string[], overrides: Partial<Assignment> = {}): Assignment {
  return testAssignment({ command, ...overrides });
}

/** Alive and not a zombie (this container's init may not reap orphans). */
async function alive(pid: number): Promise<boolean> {
  return (await processStartTime(pid)) !== null;
}

describe('process runner', () => {
  let root: string;
  let state: StateDir;
  let options: RunnerOptions;
  const started: ReplicaProcess[] = [];

  async function run(a: Assignment): Promise<ReplicaProcess> {
    const p = await startReplica(a.replicaId, a, options);
    started.push(p);
    return p;
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gpufleet-runner-'));
    state = new StateDir(root);
    await state.init();
    options = { stateDir: state, pollIntervalMs: 50, baseEnv: { PATH: process.env.PATH, HOME: '/home/x', GPUFLEET_JOIN_TOKEN: 'secret' } };
  });
  afterEach(async () => {
    for (const p of started.splice(0)) {
      try {
        if (p.pid !== null) process.kill(-p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(root, { recursive: true, force: true });
  });

  it('runs a command, captures its output in files and reports its exit code', async () => {
    const a = assignment(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    const p = await run(a);
    const exit = await p.exited;
    expect(exit).toEqual({ exitCode: 3, message: 'exited with code 3', stopped: false });
    expect(p.result).toEqual(exit);
    const paths = state.replica(a.replicaId);
    expect(await readFile(paths.stdout, 'utf8')).toBe('out\n');
    expect(await readFile(paths.stderr, 'utf8')).toBe('err\n');
    expect(await state.readExit(a.replicaId)).toEqual(exit);
    expect(await state.readAssignment(a.replicaId)).toEqual(a);
    expect((await state.readPid(a.replicaId))?.pid).toBe(p.pid);
  });

  it('reports success with exit code 0 and no message', async () => {
    const p = await run(assignment(['true']));
    expect(await p.exited).toEqual({ exitCode: 0, message: null, stopped: false });
  });

  it('gives the process its GPUs, its environment and its folder, and none of the agent secrets', async () => {
    const a = assignment(['sh', '-c', 'env; pwd'], { env: { BATCH: '64', CUDA_VISIBLE_DEVICES: 'all' }, gpuIndices: [2, 5] });
    const p = await run(a);
    await p.exited;
    const out = await readFile(state.replica(a.replicaId).stdout, 'utf8');
    const lines = out.trim().split('\n');
    expect(lines).toContain('CUDA_VISIBLE_DEVICES=2,5');
    expect(lines).toContain('NVIDIA_VISIBLE_DEVICES=2,5');
    expect(lines).toContain('GPUFLEET_WORKLOAD=train');
    expect(lines).toContain(`GPUFLEET_REPLICA_ID=${a.replicaId}`);
    expect(lines).toContain('BATCH=64');
    expect(lines).toContain('HOME=/home/x');
    expect(out).not.toContain('GPUFLEET_JOIN_TOKEN');
    expect(lines.at(-1)).toBe(await realpath(state.replica(a.replicaId).dir));
  });

  it('tells a replica its place in the gang, and a fractional one its share of its one GPU', async () => {
    const whole = assignment(['sh', '-c', 'env'], { gpuIndices: [1, 2] });
    await (await run(whole)).exited;
    const wholeEnv = (await readFile(state.replica(whole.replicaId).stdout, 'utf8')).trim().split('\n');
    expect(wholeEnv).toEqual(expect.arrayContaining(['GPUFLEET_REPLICA_INDEX=0', 'GPUFLEET_REPLICAS=1']));
    expect(wholeEnv.some((l) => l.startsWith('GPUFLEET_GPU_FRACTION='))).toBe(false);

    const share = assignment(['sh', '-c', 'env'], { gpuIndices: [3], replicaIndex: 2, replicas: 4, gpuFraction: 0.25, gpuMemoryMiB: 20480 });
    await (await run(share)).exited;
    const shareEnv = (await readFile(state.replica(share.replicaId).stdout, 'utf8')).trim().split('\n');
    expect(shareEnv).toEqual(
      expect.arrayContaining(['CUDA_VISIBLE_DEVICES=3', 'NVIDIA_VISIBLE_DEVICES=3', 'GPUFLEET_REPLICA_INDEX=2', 'GPUFLEET_REPLICAS=4', 'GPUFLEET_GPU_FRACTION=0.25', 'GPUFLEET_GPU_MEMORY_MIB=20480']),
    );
  });

  it('runs in the workdir when one is given, with no GPUs when none are assigned', async () => {
    const a = assignment(['sh', '-c', 'pwd; echo "[$CUDA_VISIBLE_DEVICES]"'], { workdir: root, gpuIndices: [] });
    await (await run(a)).exited;
    expect(await readFile(state.replica(a.replicaId).stdout, 'utf8')).toBe(`${await realpath(root)}\n[]\n`);
  });

  it('fails with 127 and a clear message when the command cannot start', async () => {
    const notFound = assignment(['no-such-program-gpufleet']);
    const p = await run(notFound);
    expect(p.result).toEqual({ exitCode: 127, message: 'cannot start no-such-program-gpufleet: command not found in PATH', stopped: false });
    expect(await p.exited).toEqual(p.result);
    expect(p.pid).toBeNull();
    expect(await readFile(state.replica(notFound.replicaId).stderr, 'utf8')).toContain('command not found');
    expect(await state.readExit(notFound.replicaId)).toEqual(p.result);

    const notExecutable = join(root, 'script.sh');
    await writeFile(notExecutable, 'echo hi\n');
    await chmod(notExecutable, 0o644);
    expect((await (await run(assignment([notExecutable]))).exited).message).toBe(`cannot start ${notExecutable}: ${notExecutable} is not executable (permission denied)`);

    const badCwd = await (await run(assignment(['true'], { workdir: join(root, 'nowhere') }))).exited;
    expect(badCwd).toEqual({ exitCode: 127, message: `cannot start true: working directory ${join(root, 'nowhere')} does not exist`, stopped: false });

    expect((await (await run(assignment(['./missing.sh'], { workdir: root }))).exited).message).toBe('cannot start ./missing.sh: no such file');
  });

  it('reports a process killed by a signal as 128+signo', async () => {
    const p = await run(assignment(['sh', '-c', 'kill -KILL $$']));
    expect(await p.exited).toEqual({ exitCode: 137, message: 'killed by SIGKILL', stopped: false });
  });

  it('stops a process with SIGTERM to its group', async () => {
    const a = assignment(['sh', '-c', 'sleep 30 & echo $! > child.pid; wait']);
    const p = await run(a);
    await sleep(200);
    const grandchild = Number(await readFile(join(state.replica(a.replicaId).dir, 'child.pid'), 'utf8'));
    expect(await alive(grandchild)).toBe(true);
    const began = Date.now();
    const exit = await p.terminate(5000);
    expect(Date.now() - began).toBeLessThan(3000);
    expect(exit).toEqual({ exitCode: 143, message: 'stopped by gpufleet', stopped: true });
    expect(await alive(grandchild)).toBe(false);
    expect(await state.readExit(a.replicaId)).toEqual(exit);
  });

  it('stops a process at once even when the stop comes right after the start', async () => {
    for (let i = 0; i < 50; i++) {
      const p = await run(assignment(['sleep', '30']));
      const began = Date.now();
      const exit = await p.terminate(5000);
      expect(Date.now() - began).toBeLessThan(3000);
      expect(exit).toMatchObject({ message: 'stopped by gpufleet', stopped: true });
    }
  });

  it('lets a process that handles SIGTERM finish cleanly, and waits for it', async () => {
    const a = assignment(['sh', '-c', 'trap "sleep 0.3; echo bye; exit 0" TERM; sleep 30 & wait']);
    const p = await run(a);
    await sleep(200);
    const began = Date.now();
    expect(await p.terminate(5000)).toEqual({ exitCode: 143, message: 'stopped by gpufleet', stopped: true });
    expect(Date.now() - began).toBeGreaterThanOrEqual(290);
    expect(await readFile(state.replica(a.replicaId).stdout, 'utf8')).toBe('bye\n');
  });

  it('kills a process that ignores SIGTERM once the grace period is over', async () => {
    const p = await run(assignment(['sh', '-c', 'trap "" TERM; while :; do sleep 0.05; done']));
    await sleep(200);
    const began = Date.now();
    const exit = await p.terminate(400);
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(3000);
    expect(exit).toEqual({ exitCode: 137, message: 'stopped by gpufleet; killed with SIGKILL after the 400 ms grace period', stopped: true });
  });

  it('kills what a finished process left behind in its group', async () => {
    const a = assignment(['sh', '-c', 'sleep 30 & echo $! > child.pid; exit 0']);
    const p = await run(a);
    expect(await p.exited).toEqual({ exitCode: 0, message: null, stopped: false });
    const grandchild = Number(await readFile(join(state.replica(a.replicaId).dir, 'child.pid'), 'utf8'));
    await sleep(100);
    expect(await alive(grandchild)).toBe(false);
  });

  describe('after an agent restart', () => {
    it('re-adopts a running process and learns its exit code from the wrapper', async () => {
      const a = assignment(['sh', '-c', 'sleep 0.4; exit 4']);
      const first = await run(a);
      first.detach();
      const adopted = await adoptReplica(a.replicaId, options);
      expect(adopted.result).toBeNull();
      expect(adopted.pid).toBe(first.pid);
      expect(await adopted.exited).toEqual({ exitCode: 4, message: 'exited with code 4', stopped: false });
      expect(await state.readExit(a.replicaId)).toEqual({ exitCode: 4, message: 'exited with code 4', stopped: false });
    });

    it('knows how a process ended while no agent was watching', async () => {
      const a = assignment(['sh', '-c', 'exit 5']);
      const first = await run(a);
      first.detach();
      await sleep(300);
      const adopted = await adoptReplica(a.replicaId, options);
      expect(adopted.result).toEqual({ exitCode: 5, message: 'exited with code 5', stopped: false });
    });

    it('reports an unknown status when the process is gone without a trace', async () => {
      const a = assignment(['sh', '-c', 'exit 0']);
      const first = await run(a);
      await first.exited;
      await unlink(state.replica(a.replicaId).exit);
      const adopted = await adoptReplica(a.replicaId, options);
      expect(adopted.result).toEqual({ exitCode: null, message: unknownExitMessage, stopped: false });
    });

    it('does not adopt a live process that only reuses the pid', async () => {
      const a = assignment(['true']);
      await state.createReplica(a.replicaId, a);
      const startTime = await processStartTime(process.pid);
      await state.writePid(a.replicaId, { pid: process.pid, startTime: String(Number(startTime) + 1) });
      expect(await isSameProcess({ pid: process.pid, startTime })).toBe(true);
      const adopted = await adoptReplica(a.replicaId, options);
      expect(adopted.result).toEqual({ exitCode: null, message: unknownExitMessage, stopped: false });
    });

    it('stops an adopted process', async () => {
      const a = assignment(['sleep', '30']);
      const first = await run(a);
      first.detach();
      await sleep(100);
      const adopted = await adoptReplica(a.replicaId, options);
      // The wrapper dies with the group, and this agent is not its parent: how it ended is unknown.
      expect(await adopted.terminate(5000)).toEqual({ exitCode: null, message: 'stopped by gpufleet', stopped: true });
      expect(await alive(first.pid!)).toBe(false);
    });
  });

  it('explains why a command cannot start', async () => {
    expect(await whyCannotStart([], root, process.env.PATH)).toBe('cannot start: the command is empty');
    expect(await whyCannotStart(['sh'], root, process.env.PATH)).toBeNull();
    expect(await whyCannotStart(['sh'], root, '')).toBe('cannot start sh: command not found in PATH');
    expect(await whyCannotStart([root], '/', process.env.PATH)).toBe(`cannot start ${root}: ${root} is a directory`);
  });
});
