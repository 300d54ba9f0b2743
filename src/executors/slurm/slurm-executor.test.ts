import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlurmRestd } from '../../../test/support/fake-slurmrestd.js';
import { tempDir } from '../../../test/support/fleet.js';
import { launchRequest } from '../spi.js';
import { SlurmRestClient } from './rest-client.js';
import { SlurmExecutor } from './slurm-executor.js';

describe('Slurm executor load on slurmrestd', () => {
  const slurm = new FakeSlurmRestd();
  const outputDir = tempDir('slurm-load');
  let executor: SlurmExecutor;

  beforeAll(async () => {
    await slurm.start();
    executor = new SlurmExecutor({ name: 'slurm:test', client: new SlurmRestClient({ url: slurm.url, userName: 'ml', token: 'fake' }), outputDir });
  });
  afterAll(async () => {
    await slurm.stop();
    rmSync(outputDir, { recursive: true, force: true });
  });

  it("reads every job's state with one list call, and their output without asking for each job again", async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const req = launchRequest({ replicaId: `r-load${i}`, generation: 1, workloadName: `w${i}`, command: ['true'], env: {}, workdir: null, gpus: { count: 1 }, gpuModel: null, timeLimitSeconds: null });
      ids.push((await executor.launch(req)).externalId);
      writeFileSync(`${outputDir}/r-load${i}.1.stdout`, `out ${i}\n`);
    }
    slurm.jobs.get(Number(ids[2]))!.job_state = 'COMPLETED';
    slurm.requests.length = 0;

    const statuses = await executor.status(ids);
    expect([...statuses.values()].map((s) => s.state)).toEqual(['running', 'running', 'succeeded']);
    const reads = await Promise.all(ids.flatMap((id) => [executor.logs(id, 'stdout', 0), executor.logs(id, 'stderr', 0)]));
    expect(reads.filter((_, i) => i % 2 === 0)).toEqual([
      { data: 'out 1\n', nextOffset: 6, done: false },
      { data: 'out 2\n', nextOffset: 6, done: false },
      { data: 'out 3\n', nextOffset: 6, done: true },
    ]);
    expect(slurm.requests).toEqual(['GET jobs']);

    // A state listed too long ago is asked for again.
    await new Promise((r) => setTimeout(r, 1100));
    await executor.logs(ids[0]!, 'stdout', 6);
    expect(slurm.requests).toEqual(['GET jobs', `GET job/${ids[0]}`]);
  });

  it('stops a running job given no grace period with SIGKILL alone, and one given a grace period with SIGTERM', async () => {
    const launch = (name: string) =>
      executor.launch(launchRequest({ replicaId: `r-${name}`, generation: 1, workloadName: name, command: ['true'], env: {}, workdir: null, gpus: { count: 1 }, gpuModel: null, timeLimitSeconds: null }));
    const now = await launch('stop-now');
    const graceful = await launch('stop-graceful');
    slurm.signals.length = 0;
    await executor.stop(now.externalId, 0);
    await executor.stop(graceful.externalId, 50);
    // This slurmrestd ends a job on any signal: the graceful one needs no SIGKILL after its SIGTERM.
    expect(slurm.signals).toEqual([
      [Number(now.externalId), 'SIGKILL'],
      [Number(graceful.externalId), 'SIGTERM'],
    ]);
  });
});
