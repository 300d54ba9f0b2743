import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isActiveReplicaState, type ReplicaState } from '../../src/core/replica-state.js';
import { launchRequest, type Executor, type ExecutorReplicaStatus, type LaunchRequest, type LogStream } from '../../src/executors/spi.js';

export interface ConformanceSubject {
  executor: Executor;
  /** An external id the plane has never given out, in the plane's own form. */
  unknownId: string;
  /** A folder the replicas may start in, seen by the machines that run them. */
  workdir: string;
  stop(): Promise<void>;
}

/**
 * The behaviour every executor owes the control plane (src/executors/spi.ts), run against a real
 * plane: the agent's processes, a real Slurm. The plane-specific details (GRES, devices, auth) are
 * tested beside each executor; what is here holds for all of them, the same way.
 */
export function executorConformance(plane: string, setup: () => Promise<ConformanceSubject>): void {
  describe(`executor conformance: ${plane}`, () => {
    let subject: ConformanceSubject;
    let executor: Executor;
    let seq = 0;

    beforeAll(async () => {
      subject = await setup();
      executor = subject.executor;
    }, 180_000);
    afterAll(async () => {
      await subject?.stop();
    });

    function request(command: string[], more: Partial<LaunchRequest> = {}): LaunchRequest {
      seq++;
      return launchRequest({
        replicaId: `r-conf${process.pid % 10000}x${seq}`,
        generation: 1,
        workloadName: `conformance-${seq}`,
        command,
        env: {},
        workdir: null,
        gpus: { count: 0 },
        gpuModel: null,
        timeLimitSeconds: 600,
        ...more,
      });
    }

    async function waitFor(externalId: string, done: (state: ReplicaState) => boolean, timeoutMs = 30_000): Promise<ExecutorReplicaStatus> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = (await executor.status([externalId])).get(externalId)!;
        if (done(status.state)) return status;
        if (Date.now() > deadline) throw new Error(`${externalId} still ${status.state} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    const ended = (s: ReplicaState) => !isActiveReplicaState(s);

    /** Everything a stream holds, read chunk by chunk from each `nextOffset`, until `done`. */
    async function readAll(externalId: string, stream: LogStream): Promise<string> {
      let text = '';
      let offset = 0;
      for (let i = 0; i < 200; i++) {
        const read = await executor.logs(externalId, stream, offset);
        text += read.data;
        offset = read.nextOffset;
        if (read.done) return text;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the ${stream} of ${externalId} never reached done`);
    }

    /** A handler installed by the command must be in place before a stop is sent. */
    async function waitForOutput(externalId: string, text: string): Promise<void> {
      for (let i = 0; i < 100; i++) {
        if ((await executor.logs(externalId, 'stdout', 0)).data.includes(text)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${externalId} never printed ${text}`);
    }

    it('offers its machines, ready, with their GPUs, and says what it can do', async () => {
      const nodes = await executor.syncInventory();
      expect(nodes.length).toBeGreaterThan(0);
      expect(nodes.some((n) => n.state === 'ready' && n.gpus.length > 0)).toBe(true);
      expect(Object.values(executor.capabilities()).every((v) => typeof v === 'boolean')).toBe(true);
    });

    it('runs a command in its workdir with its environment; the exit code and both streams come back', async () => {
      const handle = await executor.launch(
        request(['sh', '-c', 'echo "greeting=$GREETING dir=$(pwd)"; echo to-stderr >&2; exit 3'], { env: { GREETING: 'hello world' }, workdir: subject.workdir }),
      );
      expect(handle.created).toBe(true);
      expect(await waitFor(handle.externalId, ended)).toMatchObject({ state: 'failed', exitCode: 3 });
      expect(await readAll(handle.externalId, 'stdout')).toBe(`greeting=hello world dir=${subject.workdir}\n`);
      expect(await readAll(handle.externalId, 'stderr')).toBe('to-stderr\n');
    });

    it('a command that succeeds is succeeded with exit code 0', async () => {
      const handle = await executor.launch(request(['true']));
      expect(await waitFor(handle.externalId, ended)).toMatchObject({ state: 'succeeded', exitCode: 0 });
    });

    it('reads output from any offset, never twice, across a multi-byte character', async () => {
      const handle = await executor.launch(request(['sh', '-c', 'printf "héllo wörld\\n"']));
      await waitFor(handle.externalId, ended);
      const whole = await readAll(handle.externalId, 'stdout');
      expect(whole).toBe('héllo wörld\n');
      const rest = await executor.logs(handle.externalId, 'stdout', Buffer.byteLength('héllo '));
      expect(rest.data).toBe('wörld\n');
      expect(rest.nextOffset).toBe(Buffer.byteLength(whole));
      expect(await executor.logs(handle.externalId, 'stdout', rest.nextOffset)).toEqual({ data: '', nextOffset: rest.nextOffset, done: true });
    });

    it('a launch repeated with the same idempotency key returns the first one; find() knows it', async () => {
      const req = request(['sh', '-c', 'sleep 1']);
      expect(await executor.find(req.idempotencyKey)).toBeNull();
      const first = await executor.launch(req);
      expect(await executor.launch(req)).toEqual({ externalId: first.externalId, created: false });
      expect(await executor.find(req.idempotencyKey)).toBe(first.externalId);
      // A new generation of the same replica is a new launch.
      const next = await executor.launch({ ...req, generation: 2, idempotencyKey: `${req.replicaId}.2` });
      expect(next.created).toBe(true);
      expect(next.externalId).not.toBe(first.externalId);
      await waitFor(first.externalId, ended);
      await waitFor(next.externalId, ended);
    });

    it('stop() sends SIGTERM first: a command that ends on it is stopped', async () => {
      const handle = await executor.launch(request(['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo started; while :; do sleep 0.1; done']));
      await waitFor(handle.externalId, (s) => s === 'running');
      await waitForOutput(handle.externalId, 'started');
      await executor.stop(handle.externalId, 20_000);
      expect((await waitFor(handle.externalId, ended)).state).toBe('stopped');
      expect(await readAll(handle.externalId, 'stdout')).toContain('got-term');
    });

    it('stop() forces a command that ignores SIGTERM once the grace period is over', async () => {
      const handle = await executor.launch(request(['sh', '-c', 'trap "" TERM; echo started; while :; do sleep 0.1; done']));
      await waitFor(handle.externalId, (s) => s === 'running');
      await waitForOutput(handle.externalId, 'started');
      const t0 = Date.now();
      await executor.stop(handle.externalId, 1500);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
      expect((await waitFor(handle.externalId, ended, 15_000)).state).toBe('stopped');
    });

    it('stop() of a replica that already ended changes nothing', async () => {
      const handle = await executor.launch(request(['true']));
      await waitFor(handle.externalId, ended);
      await executor.stop(handle.externalId, 1000);
      expect((await executor.status([handle.externalId])).get(handle.externalId)).toMatchObject({ state: 'succeeded', exitCode: 0 });
    });

    it('an id the plane does not know is lost, never left out', async () => {
      const status = await executor.status([subject.unknownId]);
      expect(status.get(subject.unknownId)).toMatchObject({ state: 'lost', exitCode: null });
      expect(status.get(subject.unknownId)!.message).toBeTruthy();
    });
  });
}
