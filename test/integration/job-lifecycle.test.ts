import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, ServerProcess, isAlive, readAllLogs, submit, tempDir, waitFor, waitForState } from '../support/fleet.js';
import { serverTargets } from '../support/targets.js';
import type { HttpClient } from '../../src/client/http.js';
import type { Workload } from '../../src/core/api-types.js';

for (const target of serverTargets()) {
  describe(`a job's life on a real server and agent (${target.name})`, () => {
    let server: ServerProcess;
    let agent: AgentProcess;
    let client: HttpClient;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const db = await target.prepare();
      drop = db.drop;
      server = await new ServerProcess({ databaseUrl: db.databaseUrl }).start();
      agent = await new AgentProcess(server, 'gpu-node-1', '4xH100-80GB').start();
      client = server.client();
    });
    afterAll(async () => {
      await agent?.stop();
      await server?.stop();
      await drop?.();
    });

    it('runs a job on the GPUs it was given and keeps its output', async () => {
      const job = await submit(client, { name: 'hello', gpus: 2, command: ['sh', '-c', 'echo gpus=$CUDA_VISIBLE_DEVICES nv=$NVIDIA_VISIBLE_DEVICES; echo oops >&2'] });
      expect(job.state).toBe('pending');
      const done = await waitForState(client, 'hello', ['succeeded', 'failed']);
      expect(done).toMatchObject({ state: 'succeeded', exitCode: 0, node: 'gpu-node-1', attempts: 1 });
      expect(done.gpuIndices).toHaveLength(2);
      const ids = done.gpuIndices.join(',');
      const logs = await readAllLogs(client, 'hello');
      expect(logs).toContain(`gpus=${ids} nv=${ids}`);
      expect(logs).toContain('oops');
    });

    it('has shipped all of a job’s output by the time the job is reported finished', async () => {
      await submit(client, { name: 'chatty', command: ['sh', '-c', "head -c 600000 /dev/zero | tr '\\0' x; echo; echo last-line"] });
      await waitForState(client, 'chatty', ['succeeded']);
      const logs = await readAllLogs(client, 'chatty');
      expect(logs.length).toBeGreaterThan(600_000);
      expect(logs.trimEnd().endsWith('last-line')).toBe(true);
    });

    it('reports a failing exit code', async () => {
      await submit(client, { name: 'fails', command: ['sh', '-c', 'exit 3'] });
      expect(await waitForState(client, 'fails', ['succeeded', 'failed'])).toMatchObject({ state: 'failed', exitCode: 3 });
    });

    it('fails a job whose program does not exist, without hurting the agent', async () => {
      await submit(client, { name: 'no-such-program', command: ['/nonexistent/program'] });
      const w = await waitForState(client, 'no-such-program', ['succeeded', 'failed']);
      expect(w.state).toBe('failed');
      await submit(client, { name: 'after-bad', command: ['true'] });
      expect((await waitForState(client, 'after-bad', ['succeeded', 'failed'])).state).toBe('succeeded');
    });

    it('passes env and working directory', async () => {
      const dir = tempDir('workdir');
      await submit(client, { name: 'env', command: ['sh', '-c', 'echo "$GREETING from $(pwd)"'], env: { GREETING: 'hi' }, workdir: dir });
      await waitForState(client, 'env', ['succeeded']);
      expect(await readAllLogs(client, 'env')).toContain(`hi from ${dir}`);
    });

    it('cancels a running job: its process group gets SIGTERM and its GPUs come back', async () => {
      await submit(client, { name: 'sleeper', gpus: 4, command: ['sh', '-c', 'echo started; sleep 300'], gracePeriodSeconds: 2 });
      await waitForState(client, 'sleeper', ['running']);
      await waitFor('the first output line', async () => (await readAllLogs(client, 'sleeper')).includes('started'));
      const pids = agent.replicaPids();
      const cancelled = await client.request<Workload>('POST', '/v1/workloads/sleeper/cancel');
      expect(cancelled.state).toBe('cancelled');
      await waitFor('the process group to be gone', async () => pids.every((p) => !isAlive(p)), 15_000);
      // All four GPUs must be free again: a 4-GPU job runs.
      await submit(client, { name: 'after-cancel', gpus: 4, command: ['true'] });
      expect((await waitForState(client, 'after-cancel', ['succeeded'])).state).toBe('succeeded');
    });

    it('labels the GPU telemetry of a running job with its workload, team and queue (DCGM names)', async () => {
      await submit(client, { name: 'telemetry', gpus: 1, command: ['sleep', '30'], env: { GPUFLEET_SIM_GPU_UTIL: '0.5' } });
      await waitForState(client, 'telemetry', ['running']);
      const metricsUrl = /metrics at (http:\/\/\S+\/metrics)/.exec(agent.output())?.[1];
      expect(metricsUrl, agent.output()).toBeDefined();
      const line = await waitFor('a DCGM sample of the job’s GPU', async () => {
        const text = await (await fetch(metricsUrl!)).text();
        return text.split('\n').find((l) => l.startsWith('DCGM_FI_DEV_GPU_UTIL{') && l.includes('workload="telemetry"'));
      }, 15_000, 250);
      expect(line).toContain('team="default"');
      expect(line).toContain('queue="default"');
      expect(line).toContain('modelName="H100-80GB"');
      expect(Number(line.split(' ').pop())).toBeGreaterThan(40);
      await client.request('POST', '/v1/workloads/telemetry/cancel');
    });

    it('waits when the fleet is full and says why', async () => {
      // Busy GPUs: the 4-GPU node has 3 free, so a 4-GPU job waits for room.
      await submit(client, { name: 'holder', gpus: 1, command: ['sleep', '300'], gracePeriodSeconds: 1 });
      await submit(client, { name: 'too-big', gpus: 4, command: ['true'] });
      const w = await waitFor('a pending reason', async () => {
        const x = await client.request<Workload>('GET', '/v1/workloads/too-big');
        return x.reasons.some((r) => /no node has 4 free H100-80GB GPUs/.test(r)) ? x : undefined;
      });
      expect(w.state).toBe('pending');
      // More GPUs than any node has: it is told it cannot start as asked.
      await submit(client, { name: 'never', gpus: 8, command: ['true'] });
      await waitFor('a hopeless reason', async () => {
        const x = await client.request<Workload>('GET', '/v1/workloads/never');
        return x.reasons.some((r) => /no ready node has 8 H100-80GB GPUs at all/.test(r)) ? x : undefined;
      });
      for (const name of ['too-big', 'never', 'holder']) await client.request('POST', `/v1/workloads/${name}/cancel`);
    });
  });
}
