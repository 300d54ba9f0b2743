import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, portIsFree, repoRoot, tempDir, waitFor } from '../support/fleet.js';
import type { Workload } from '../../src/core/api-types.js';

const bin = join(repoRoot, 'bin', 'gpufleet.js');

/** The README's promise: `up`, then the CLI works in another terminal with no further set-up. */
describe('gpufleet up, then the CLI', () => {
  const home = tempDir('up');
  const env = { ...process.env, GPUFLEET_HOME: home, DATABASE_URL: '', GPUFLEET_URL: '', GPUFLEET_TOKEN: '' };
  let up: ReturnType<typeof spawn>;
  let output = '';
  let port = 0;

  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 60_000 });

  beforeAll(async () => {
    // up puts the agent's metrics on the next port and the gateway on the one after: find three free ones in a row.
    port = await waitFor('three free ports', async () => {
      const p = await freePort();
      return (await portIsFree(p + 1)) && (await portIsFree(p + 2)) ? p : undefined;
    });
    up = spawn(process.execPath, [bin, 'up', '--port', String(port), '--simulate-gpus', '4xH100-80GB'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    up.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor('up to say it is up', async () => output.includes('gpufleet is up'), 60_000);
  });
  afterAll(async () => {
    if (up.exitCode === null) up.kill('SIGKILL');
  });

  it('says plainly that the GPUs are simulated, and prints the admin token once', () => {
    expect(output).toMatch(/SIMULATED/);
    expect(output).toMatch(/gfa_[A-Za-z0-9_-]+/);
  });

  it('runs the README job: --wait exits 0 and the logs show the GPU ids', () => {
    const run = cli('run', '--gpus', '2', '--name', 'hello', '--wait', '--', 'sh', '-c', 'echo gpus=$CUDA_VISIBLE_DEVICES; sleep 1');
    expect(run.status, run.stderr).toBe(0);
    const logs = cli('logs', 'hello');
    expect(logs.stdout).toMatch(/^gpus=\d+,\d+$/m);
    const ps = JSON.parse(cli('ps', '-o', 'json').stdout) as Workload[];
    expect(ps.find((w) => w.name === 'hello')).toMatchObject({ state: 'succeeded', gpus: 2 });
    const nodes = cli('nodes');
    expect(nodes.stdout).toMatch(/simulated/);
    expect(nodes.stdout).toMatch(/4x H100-80GB/);
  });

  it('exits with the job’s exit code', () => {
    expect(cli('run', '--name', 'bad', '--wait', '--', 'sh', '-c', 'exit 7').status).toBe(7);
  });

  it('applies the example fleet and reports unchanged the second time', () => {
    const first = cli('apply', '-f', join(repoRoot, 'examples', 'fleet.yaml'));
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/queue\/vision-train created/);
    const again = cli('apply', '-f', join(repoRoot, 'examples', 'fleet.yaml'));
    expect(again.stdout).toMatch(/queue\/vision-train unchanged/);
    expect(again.stdout).not.toMatch(/updated/);
  });

  it('serves metrics on the server, the agent and the gateway', async () => {
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/gpufleet_scheduler_placements_total/);
    expect((await fetch(`http://127.0.0.1:${port + 1}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port + 2}/metrics`)).status).toBe(200);
  });

  it('starts the gateway, which takes the saved admin token as an API key', async () => {
    expect(output).toContain(`Gateway:  http://127.0.0.1:${port + 2}/v1`);
    const token = /gfa_[A-Za-z0-9_-]+/.exec(output)![0];
    const models = await fetch(`http://127.0.0.1:${port + 2}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    expect(models.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port + 2}/v1/models`)).status).toBe(401);
    expect(cli('get', 'services').stderr).toMatch(/No services found/);
  });

  it('stops cleanly on Ctrl-C', async () => {
    up.kill('SIGINT');
    const code = await new Promise<number | null>((r) => (up.exitCode !== null ? r(up.exitCode) : up.once('exit', (c) => r(c))));
    expect(code).toBe(0);
  });
});
