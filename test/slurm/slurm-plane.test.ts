import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from '../../src/client/http.js';
import type { Node, Workload } from '../../src/core/api-types.js';
import type { Cluster } from '../../src/core/cluster-types.js';
import { SlurmRestClient, type SlurmJob } from '../../src/executors/slurm/rest-client.js';
import { AgentProcess, ServerProcess, getWorkload, readAllLogs, repoRoot, submit, tempDir, waitFor, waitForState } from '../support/fleet.js';
import { startSlurmCluster, type SlurmCluster } from '../support/slurm-cluster.js';
import { serverTargets } from '../support/targets.js';

const run = promisify(execFile);

/**
 * gpufleet admitting into a real Slurm (munged, slurmctld, slurmd, slurmrestd, started here; if
 * they cannot be, the tests fail with the reason): a `kind: Cluster` synced into the inventory,
 * jobs submitted through gpufleet and run by Slurm, one queue's GPU limit over an agent and the
 * cluster together, cancel, and slurmrestd going away mid-way.
 */
let slurm: SlurmCluster;
let server: ServerProcess;
let agent: AgentProcess;
let client: HttpClient;
let rest: SlurmRestClient;
let dropDatabase: () => Promise<void> = async () => undefined;
// One Slurm per file, so one server: on PostgreSQL when DATABASE_URL is set (CI), else the embedded database.
const target = serverTargets().at(-1)!;
const dir = tempDir('slurm-plane');
const tokenFile = join(dir, 'slurm.jwt');

beforeAll(async () => {
  slurm = await startSlurmCluster();
  rest = new SlurmRestClient({ url: slurm.restUrl, userName: slurm.userName, token: slurm.token });
  writeFileSync(tokenFile, `SLURM_JWT=${slurm.token}\n`, { mode: 0o600 });
  // Preemption at once: the default protects a job for its first minute.
  const schedulerConfig = join(dir, 'scheduler.yaml');
  writeFileSync(schedulerConfig, 'minRuntimeMs: 0\n');
  const db = await target.prepare();
  dropDatabase = db.drop;
  server = await new ServerProcess({ schedulerConfig, ...(db.databaseUrl ? { databaseUrl: db.databaseUrl } : {}) }).start();
  // The agent's GPUs are another model, so a job can be sent to either plane by its model alone.
  agent = await new AgentProcess(server, 'agent-node', '4xA100-80GB').start();
  client = server.client();
  await client.request('PUT', '/v1/teams/ml', { body: {} });
  await client.request('PUT', '/v1/queues/ml', { body: { team: 'ml', quotas: [{ guaranteed: 0, limit: 5 }] } });
  await client.request('PUT', '/v1/teams/hpc', { body: {} });
  await client.request('PUT', '/v1/queues/hpc', { body: { team: 'hpc', quotas: [{ guaranteed: 8 }] } });
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  await slurm?.stop();
  await dropDatabase();
});

function putCluster(name: string, token: { file: string }): Promise<{ result: string; cluster: Cluster }> {
  return client.request('PUT', `/v1/clusters/${name}`, {
    body: { backend: 'slurm', url: slurm.restUrl, user: slurm.userName, token, outputDir: slurm.outputDir, gpuModels: { h100: 'H100-80GB' } },
  });
}

const getCluster = (name: string) => client.request<Cluster>('GET', `/v1/clusters/${name}`);
const waitForCluster = (name: string, status: Cluster['status']) =>
  waitFor(`cluster ${name} ${status}`, async () => {
    const c = await getCluster(name);
    return c.status === status ? c : undefined;
  }, 30_000);

/** Slurm's own record of the jobs gpufleet submitted for a workload (the job's name is the workload's). */
async function slurmJobsOf(workload: Workload): Promise<SlurmJob[]> {
  return (await rest.jobs()).filter((j) => j.name === workload.name);
}

describe(`a Slurm cluster as a second plane (${target.name})`, () => {
  it('a bad token is a clear error on the cluster, and the token is never shown', async () => {
    const badFile = join(dir, 'bad.jwt');
    writeFileSync(badFile, 'eyJhbGciOiJIUzI1NiJ9.eyJzdW4iOiJyb290In0.not-a-signature\n');
    const { result, cluster } = await putCluster('wrong-key', { file: badFile });
    expect(result).toBe('created');
    expect(cluster).toMatchObject({ status: 'pending', spec: { token: { file: badFile } } });
    const failed = await waitForCluster('wrong-key', 'unauthorized');
    expect(failed.message).toMatch(/JWT is most likely invalid/);
    expect(failed.nodes).toBe(0);

    const events = await client.request<{ items: { kind: string; target: string | null; message: string }[] }>('GET', '/v1/events', { query: { target: 'cluster/wrong-key' } });
    expect(events.items.map((e) => [e.kind, e.target])).toEqual([['cluster.created', 'wrong-key'], ['cluster.unauthorized', 'wrong-key']]);

    await putCluster('no-file', { file: join(dir, 'missing.jwt') });
    expect((await waitForCluster('no-file', 'unauthorized')).message).toBe(`cannot read the Slurm JWT: cannot read the secret file ${join(dir, 'missing.jwt')} (ENOENT)`);
  });

  it('syncs the cluster’s node, partition and GPUs into the inventory, shown with their plane', async () => {
    expect((await putCluster('hpc', { file: tokenFile })).result).toBe('created');
    const cluster = await waitForCluster('hpc', 'ready');
    expect(cluster).toMatchObject({ nodes: 1, gpus: 8, message: null });
    expect(cluster.syncedAt).not.toBeNull();

    const nodes = (await client.request<{ items: Node[] }>('GET', '/v1/nodes')).items;
    const node = nodes.find((n) => n.name === `hpc/${slurm.nodeName}`)!;
    expect(node).toMatchObject({ plane: 'slurm:hpc', state: 'ready', cpus: 16, labels: { 'cluster.gpufleet.dev/hpc': 'hpc', 'slurm.gpufleet.dev/partitions': 'gpu' } });
    expect(node.gpus.map((g) => g.model)).toEqual(Array(8).fill('H100-80GB'));
    expect(nodes.find((n) => n.name === 'agent-node')).toMatchObject({ plane: 'agent' });
    const joined = await client.request<{ items: { kind: string; message: string }[] }>('GET', '/v1/events', { query: { target: `node/hpc/${slurm.nodeName}` } });
    expect(joined.items[0]).toMatchObject({ kind: 'node.joined', message: `node hpc/${slurm.nodeName} of cluster hpc synced with 8 GPUs` });

    const { stdout } = await run(process.execPath, [join(repoRoot, 'bin', 'gpufleet.js'), 'nodes'], { env: { ...process.env, GPUFLEET_URL: server.url, GPUFLEET_TOKEN: server.adminToken } });
    expect(stdout).toMatch(new RegExp(`hpc/${slurm.nodeName}\\s+slurm:hpc\\s+ready\\s+8x H100-80GB`));
    expect(stdout).toMatch(/agent-node\s+agent\s+ready/);

    const listed = await run(process.execPath, [join(repoRoot, 'bin', 'gpufleet.js'), 'get', 'clusters'], { env: { ...process.env, GPUFLEET_URL: server.url, GPUFLEET_TOKEN: server.adminToken } });
    expect(listed.stdout).toMatch(/hpc\s+slurm\s+http:\S+\s+ready\s+1\s+8\s+\d+s ago\s+-/);
    expect(listed.stdout).toMatch(/wrong-key\s+slurm\s+http:\S+\s+unauthorized\s+0\s+0\s+never\s+slurmctld .* rejected/);

    const manifest = join(dir, 'cluster.yaml');
    writeFileSync(manifest, `apiVersion: gpufleet.dev/v1\nkind: Cluster\nmetadata: {name: hpc}\nspec: {backend: slurm, url: "${slurm.restUrl}", user: ${slurm.userName}, token: {file: ${tokenFile}}, outputDir: ${slurm.outputDir}, gpuModels: {h100: H100-80GB}}\n`);
    const applied = await run(process.execPath, [join(repoRoot, 'bin', 'gpufleet.js'), 'apply', '-f', manifest], { env: { ...process.env, GPUFLEET_URL: server.url, GPUFLEET_TOKEN: server.adminToken } });
    expect(applied.stdout).toBe('cluster/hpc unchanged\n');
  });

  it('runs a job submitted through gpufleet on Slurm, with its GPUs, name, environment and time limit; logs and exit code come back', async () => {
    const job = await submit(client, {
      name: 'on-slurm', team: 'ml', cluster: 'hpc', gpus: 2, timeLimit: '10m', env: { GREETING: 'hello from slurm' },
      command: ['sh', '-c', 'echo "$GREETING gpus=$SLURM_GPUS_ON_NODE job=$SLURM_JOB_NAME"; echo to-stderr >&2; exit 3'],
    });
    expect(job).toMatchObject({ cluster: 'hpc', state: 'pending' });
    const done = await waitForState(client, job.id, ['failed'], 60_000);
    expect(done).toMatchObject({ exitCode: 3, reason: 'exited with code 3', node: `hpc/${slurm.nodeName}`, gpuIndices: [0, 1] });
    const logs = await readAllLogs(client, job.id);
    expect(logs).toContain('hello from slurm gpus=2 job=on-slurm');
    expect(logs).toContain('to-stderr');

    const [slurmJob, ...more] = await slurmJobsOf(done);
    expect(more).toEqual([]);
    expect(slurmJob).toMatchObject({ name: 'on-slurm', job_state: 'FAILED' });
    expect(slurmJob!.comment).toMatch(/^gpufleet:r-[0-9a-z]{10}\.1$/);
    expect((slurmJob as unknown as { time_limit: number }).time_limit).toBe(10);

    const ok = await submit(client, { name: 'on-slurm-ok', team: 'ml', cluster: 'hpc', gpus: 1, command: ['sh', '-c', 'echo fine'] });
    expect(await waitForState(client, ok.id, ['succeeded'], 60_000)).toMatchObject({ exitCode: 0 });
    expect(await readAllLogs(client, ok.id)).toBe('fine\n');
  });

  it('one queue’s GPU limit holds across the agent and the Slurm cluster together; cancel ends the Slurm job', async () => {
    const sleeper = ['sh', '-c', 'sleep 120'];
    const onSlurm = await submit(client, { name: 'limit-slurm', team: 'ml', cluster: 'hpc', gpus: 3, command: sleeper, gracePeriodSeconds: 1 });
    const onAgent = await submit(client, { name: 'limit-agent', team: 'ml', gpuModel: 'A100-80GB', gpus: 2, command: sleeper, gracePeriodSeconds: 1 });
    await waitForState(client, onSlurm.id, ['running'], 60_000);
    await waitForState(client, onAgent.id, ['running'], 30_000);
    expect((await getWorkload(client, onAgent.id)).node).toBe('agent-node');
    const queue = await client.request<{ usage: Record<string, number> }>('GET', '/v1/queues/ml');
    expect(queue.usage).toMatchObject({ 'H100-80GB': 3, 'A100-80GB': 2 });

    // 5 of the queue's 5 GPUs are in use, 3 in Slurm and 2 on the agent: one more waits on either plane.
    const third = await submit(client, { name: 'limit-third', team: 'ml', gpus: 1, command: ['sh', '-c', 'echo third ran'] });
    const waiting = await waitFor('a quota reason', async () => {
      const w = await getWorkload(client, third.id);
      return w.state === 'pending' && /limit/i.test(w.reason ?? '') ? w : undefined;
    });
    expect(waiting.reason).toMatch(/limit/);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await getWorkload(client, third.id)).state).toBe('pending');

    await client.request('POST', `/v1/workloads/${onSlurm.id}/cancel`);
    const cancelled = await waitFor('the Slurm job to end', async () => {
      const [j] = await slurmJobsOf(onSlurm);
      return j && ['CANCELLED', 'FAILED', 'COMPLETED'].includes(j.job_state) ? j : undefined;
    }, 30_000);
    expect(cancelled.job_state).toMatch(/CANCELLED|FAILED/);
    expect((await getWorkload(client, onSlurm.id)).state).toBe('cancelled');
    expect(await waitForState(client, third.id, ['succeeded'], 60_000)).toBeTruthy();
    await client.request('POST', `/v1/workloads/${onAgent.id}/cancel`);
    await waitForState(client, onAgent.id, ['cancelled']);
  });

  it('a share of a GPU is kept to the agents: it waits for one rather than go to Slurm', async () => {
    const filler = await submit(client, { name: 'agent-filler', team: 'hpc', gpuModel: 'A100-80GB', gpus: 4, command: ['sh', '-c', 'sleep 120'], gracePeriodSeconds: 1 });
    await waitForState(client, filler.id, ['running'], 30_000);
    const share = await submit(client, { name: 'a-share', team: 'hpc', gpus: 0.5, command: ['sh', '-c', 'echo shared'] });
    // The cluster has 8 free GPUs all along; the share still waits for the agent.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await getWorkload(client, share.id)).state).toBe('pending');
    await client.request('POST', `/v1/workloads/${filler.id}/cancel`);
    expect(await waitForState(client, share.id, ['succeeded'], 30_000)).toMatchObject({ node: 'agent-node' });
  });

  it('a job cancelled in Slurm behind gpufleet’s back is reported as such', async () => {
    const job = await submit(client, { name: 'scancelled', team: 'ml', cluster: 'hpc', gpus: 1, command: ['sh', '-c', 'sleep 120'] });
    await waitForState(client, job.id, ['running'], 60_000);
    const [slurmJob] = await slurmJobsOf(job);
    await rest.signalJob(slurmJob!.job_id, 'SIGKILL');
    expect(await waitForState(client, job.id, ['failed'], 30_000)).toMatchObject({ reason: 'cancelled in Slurm' });
  });

  it('slurmrestd going away mid-way loses nothing and submits nothing twice', async () => {
    const marker = join(slurm.outputDir, 'outage-marker');
    const job = await submit(client, {
      name: 'through-outage', team: 'ml', cluster: 'hpc', gpus: 1,
      command: ['sh', '-c', `echo started; while [ ! -f ${marker} ]; do sleep 0.2; done; echo finished`],
    });
    await waitForState(client, job.id, ['running'], 60_000);
    await slurm.stopRestd();
    try {
      const down = await waitForCluster('hpc', 'unreachable');
      expect(down.message).toMatch(/slurmrestd at .* is unreachable/);
      const during = await waitFor('the workload to say why', async () => {
        const w = await getWorkload(client, job.id);
        return w.reason?.startsWith('cluster hpc is unreachable') ? w : undefined;
      });
      expect(during.state).toBe('running');
      const node = (await client.request<{ items: Node[] }>('GET', '/v1/nodes')).items.find((n) => n.plane === 'slurm:hpc');
      expect(node?.state).toBe('suspect');

      // Submitted while the cluster is away: it waits, since no ready node of the cluster is left.
      const later = await submit(client, { name: 'after-outage', team: 'ml', cluster: 'hpc', gpus: 1, command: ['sh', '-c', 'echo after'] });
      writeFileSync(marker, '');
      await new Promise((r) => setTimeout(r, 3000));
      expect((await getWorkload(client, job.id)).state).toBe('running');
      expect((await getWorkload(client, later.id)).state).toBe('pending');
    } finally {
      await slurm.startRestd();
    }
    await waitForCluster('hpc', 'ready');
    const finished = await waitForState(client, job.id, ['succeeded'], 60_000);
    expect(finished.reason).toBeNull();
    expect(await readAllLogs(client, job.id)).toBe('started\nfinished\n');
    expect(await waitForState(client, 'after-outage', ['succeeded'], 60_000)).toBeTruthy();
    expect(await slurmJobsOf(job)).toHaveLength(1);
  });

  it('preemption cancels the Slurm job; the preempted workload runs again later as a new job', async () => {
    const marker = join(slurm.outputDir, 'preempt-marker');
    const low = await submit(client, {
      name: 'preempted-low', team: 'hpc', cluster: 'hpc', gpus: 8, priorityClass: 'batch', gracePeriodSeconds: 1,
      command: ['sh', '-c', `if [ -f ${marker} ]; then echo second run; exit 0; fi; touch ${marker}; echo first run; sleep 120`],
    });
    await waitForState(client, low.id, ['running'], 60_000);
    await waitFor('the first run to print', async () => (await readAll(client, low.id)).includes('first run'), 30_000);
    const high = await submit(client, { name: 'preempting-high', team: 'hpc', cluster: 'hpc', gpus: 8, priorityClass: 'inference', command: ['sh', '-c', 'echo high ran'] });
    expect(await waitForState(client, high.id, ['succeeded'], 60_000)).toMatchObject({ exitCode: 0 });
    const again = await waitForState(client, low.id, ['succeeded'], 60_000);
    expect(again.attempts).toBe(2);
    // Slurm's own line about the cancel is part of the job's output, as the user would see it in Slurm.
    expect(await readAll(client, low.id)).toMatch(/^first run\n(slurmstepd.*CANCELLED.*\n)?second run\n$/);
    // The first job ends on the SIGTERM (FAILED by signal) or on the SIGKILL after the grace period (CANCELLED).
    const [first, second] = (await slurmJobsOf(low)).sort((a, b) => a.job_id - b.job_id);
    expect(first!.job_state).toMatch(/^(CANCELLED|FAILED)$/);
    expect(second!.job_state).toBe('COMPLETED');
  });

  it('a job lost with its Slurm node is reported lost and admitted again once the node is back', async () => {
    const job = await submit(client, { name: 'node-fails', team: 'hpc', cluster: 'hpc', gpus: 1, command: ['sh', '-c', 'echo attempt; sleep 5'] });
    await waitForState(client, job.id, ['running'], 60_000);
    // Slurm reports RUNNING once the node is allocated, before the batch script has run a line: fail the
    // node only after the first attempt printed, or its output holds nothing but Slurm's line.
    await waitFor('the first attempt to print', async () => (await readAll(client, job.id)).includes('attempt'), 30_000);
    await scontrol('update', `nodename=${slurm.nodeName}`, 'state=down', 'reason=gpufleet-test');
    try {
      const requeued = await waitFor('the workload to be requeued', async () => {
        const events = await client.request<{ items: { kind: string; message: string }[] }>('GET', `/v1/workloads/${job.id}/events`);
        return events.items.find((e) => e.kind === 'workload.requeued');
      }, 30_000);
      // Slurm 22.05 requeues a batch job whose node failed (even one submitted with requeue off); gpufleet
      // reports that, admits the workload again as a new job, and cancels the requeued one.
      expect(requeued.message).toMatch(/^node-fails requeued: (its Slurm node failed|Slurm requeued the job \(restart 1\); it is pending again)$/);
    } finally {
      // With ReturnToService=2 slurmd may have brought the node back already; then there is nothing to resume.
      await scontrol('update', `nodename=${slurm.nodeName}`, 'state=resume').catch((err: Error) => {
        if (!/Invalid node state specified/.test(err.message)) throw err;
      });
    }
    const done = await waitForState(client, job.id, ['succeeded'], 90_000);
    expect(done.attempts).toBe(2);
    const jobs = (await slurmJobsOf(job)).sort((a, b) => a.job_id - b.job_id);
    expect(jobs.map((j) => [j.comment.slice(-2), j.job_state])).toEqual([['.1', expect.stringMatching(/^(CANCELLED|NODE_FAIL)$/)], ['.2', 'COMPLETED']]);
    // Each generation ran once: the requeued copy never ran again (Slurm's line about the failure is part of the output).
    expect(await readAll(client, job.id)).toMatch(/^attempt\n(slurmstepd.*NODE FAILURE.*\n)?attempt\n$/);
  });

  it('a time limit reaches Slurm, and Slurm ending the job at it fails the workload, saying why', async () => {
    // Slurm counts time limits in minutes and checks them every 30 s: a 1-minute job ends 60 to 90 s after it starts.
    const job = await submit(client, { name: 'over-time', team: 'hpc', cluster: 'hpc', gpus: 1, timeLimit: '1m', command: ['sh', '-c', 'echo started; sleep 600'] });
    const running = await waitForState(client, job.id, ['running'], 60_000);
    const [slurmJob] = await slurmJobsOf(running);
    expect((slurmJob as unknown as { time_limit: number }).time_limit).toBe(1);
    expect((await scontrol('show', 'job', String(slurmJob!.job_id))).stdout).toMatch(/\bTimeLimit=00:01:00\b/);
    const done = await waitForState(client, job.id, ['failed'], 100_000);
    expect(done).toMatchObject({ reason: 'reached its Slurm time limit', attempts: 1 });
    expect(await readAll(client, job.id)).toMatch(/^started\n/);
    expect((await slurmJobsOf(done)).map((j) => j.job_state)).toEqual(['TIMEOUT']);
  }, 180_000);

  it('every admission gpufleet made on the cluster became exactly one Slurm job, and the token never reached the logs', async () => {
    const workloads = (await client.request<{ items: Workload[] }>('GET', '/v1/workloads')).items.filter((w) => w.node?.startsWith('hpc/'));
    expect(workloads.length).toBeGreaterThanOrEqual(8);
    for (const w of workloads) {
      const comments = (await slurmJobsOf(w)).map((j) => j.comment);
      expect({ name: w.name, jobs: comments.length, distinct: new Set(comments).size }).toEqual({ name: w.name, jobs: w.attempts, distinct: w.attempts });
    }
    expect(server.output()).not.toContain(slurm.token);
  });

  it('deleting the cluster is refused while a job runs there; forced, the workload is requeued, its Slurm job cancelled and the machine leaves the inventory', async () => {
    const job = await submit(client, { name: 'on-deleted', team: 'hpc', cluster: 'hpc', gpus: 1, command: ['sh', '-c', 'sleep 300'] });
    await waitForState(client, job.id, ['running'], 60_000);
    await expect(client.request('DELETE', '/v1/clusters/hpc')).rejects.toMatchObject({ status: 409, details: { workloads: ['on-deleted'] } });
    await client.request('DELETE', '/v1/clusters/hpc', { query: { force: 'true' } });
    expect(await getWorkload(client, job.id)).toMatchObject({ state: 'pending' });
    const events = await client.request<{ items: { kind: string; message: string }[] }>('GET', `/v1/workloads/${job.id}/events`);
    expect(events.items.find((e) => e.kind === 'workload.requeued')?.message).toBe('on-deleted requeued: cluster hpc was deleted');
    const nodes = (await client.request<{ items: Node[] }>('GET', '/v1/nodes')).items;
    expect(nodes.map((n) => n.name)).toEqual(['agent-node']);
    // The cluster loop cancels what a deleted cluster ran with no grace period: outright, so Slurm says CANCELLED.
    await waitFor('its Slurm job cancelled', async () => {
      const states = (await slurmJobsOf(job)).map((j) => j.job_state);
      if (states.every((s) => s === 'CANCELLED')) return true;
      throw new Error(`Slurm has it ${states.join(', ')}`);
    }, 30_000);
    await client.request('POST', `/v1/workloads/${job.id}/cancel`);
  });
});

function scontrol(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('scontrol', args, { env: { ...process.env, PATH: `${process.env['PATH']}:/usr/sbin:/sbin`, SLURM_CONF: join(slurm.dir, 'conf', 'slurm.conf') } });
}

const readAll = readAllLogs;
