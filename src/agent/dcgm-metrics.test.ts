import { performance } from 'node:perf_hooks';
import { Registry } from '../observe/metrics.js';
import { describe, expect, it } from 'vitest';
import { DcgmMetrics, dcgmMetricDefs } from './dcgm-metrics.js';
import { simulatedGpus } from './gpu-discovery.js';
import { SimulatedSampler, type GpuHolder, type GpuSample } from './gpu-telemetry.js';

const sample = (index: number, over: Partial<GpuSample> = {}): GpuSample => ({
  index,
  uuid: `GPU-sim-n-${index}`,
  utilPct: 90,
  grEngineActive: 0.9,
  fbUsedMiB: 49152,
  fbFreeMiB: 32768,
  fbTotalMiB: 81920,
  powerW: 637,
  tempC: 68,
  smClockMHz: 1980,
  eccDbeVolatile: 0,
  ...over,
});

const train: GpuHolder = { replicaId: 'r1', workloadName: 'train', team: '', queue: '', env: {} };

function setup(holders: Map<number, GpuHolder>) {
  const registry = new Registry();
  const gpus = simulatedGpus('2xH100-80GB', 'n');
  const metrics = new DcgmMetrics({ registry, hostname: 'n', gpus, holderOf: (i) => holders.get(i) ?? null });
  return { registry, metrics, gpus };
}

describe('DcgmMetrics', () => {
  it('exposes DCGM exporter names, HELP texts and labels', async () => {
    const holders = new Map([[0, train]]);
    const { registry, metrics } = setup(holders);
    metrics.update([sample(0), sample(1, { utilPct: 0, grEngineActive: 0, fbUsedMiB: 0, fbFreeMiB: 81920, powerW: 70.5 })]);
    const text = await registry.metrics();
    expect(text).toContain('DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-sim-n-0",device="nvidia0",modelName="H100-80GB",Hostname="n",workload="train",team="",queue=""} 90');
    expect(text).toContain('DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-sim-n-1",device="nvidia1",modelName="H100-80GB",Hostname="n",workload="",team="",queue=""} 0');
    expect(text).toContain('DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-sim-n-0",device="nvidia0",modelName="H100-80GB",Hostname="n",workload="train",team="",queue=""} 49152');
    expect(text).toContain('DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-sim-n-1",device="nvidia1",modelName="H100-80GB",Hostname="n",workload="",team="",queue=""} 70.5');
    expect(text).toContain('DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-sim-n-0",device="nvidia0",modelName="H100-80GB",Hostname="n",workload="train",team="",queue=""} 0.9');
    expect(text).toContain('# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).');
    expect(text).toContain('# TYPE DCGM_FI_DEV_GPU_UTIL gauge');
    for (const def of dcgmMetricDefs) expect(text).toContain(`# HELP ${def.name} `);
    // XID is only exported when known.
    expect(text).not.toMatch(/^DCGM_FI_DEV_XID_ERRORS\{/m);
  });

  it('a freed GPU loses its holder labels; unknown values and vanished GPUs lose their series', async () => {
    const holders = new Map([[0, train]]);
    const { registry, metrics } = setup(holders);
    metrics.update([sample(0), sample(1)]);
    expect(await registry.metrics()).toContain('workload="train"');
    holders.delete(0);
    metrics.update([sample(0, { utilPct: null, xidLast: 79 }), sample(1)]);
    let text = await registry.metrics();
    expect(text).not.toContain('workload="train"');
    expect(text).not.toMatch(/^DCGM_FI_DEV_GPU_UTIL\{gpu="0"/m);
    expect(text).toMatch(/^DCGM_FI_DEV_XID_ERRORS\{gpu="0",.*workload="".*\} 79$/m);
    expect(text).toMatch(/^DCGM_FI_DEV_FB_USED\{gpu="0",.*workload="".*\} 49152$/m);
    metrics.update([sample(1)]);
    text = await registry.metrics();
    expect(text).not.toContain('gpu="0"');
    expect(text).toContain('gpu="1"');
  });

  it('holder labels follow a reassignment', async () => {
    const holders = new Map([[0, train]]);
    const { registry, metrics } = setup(holders);
    metrics.update([sample(0)]);
    holders.set(0, { replicaId: 'r2', workloadName: 'serve', team: 'ml', queue: 'prod', env: {} });
    metrics.update([sample(0)]);
    const lines = (await registry.metrics()).split('\n').filter((l) => l.startsWith('DCGM_FI_DEV_GPU_UTIL{'));
    expect(lines).toEqual(['DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-sim-n-0",device="nvidia0",modelName="H100-80GB",Hostname="n",workload="serve",team="ml",queue="prod"} 90']);
  });

  it('measures the cost of sampling and exporting simulated GPUs (printed, not asserted)', async () => {
    for (const count of [8, 64]) {
      const gpus = simulatedGpus(`${count}xH100-80GB`, 'n');
      const holderOf = (i: number) => (i % 2 === 0 ? train : null);
      const registry = new Registry();
      const metrics = new DcgmMetrics({ registry, hostname: 'n', gpus, holderOf });
      const sampler = new SimulatedSampler({ gpus, holderOf });
      const rounds = 2000;
      for (let i = 0; i < 200; i++) metrics.update(sampler.sampleNow());
      let start = performance.now();
      for (let i = 0; i < rounds; i++) metrics.update(sampler.sampleNow());
      const updateUs = ((performance.now() - start) * 1000) / rounds / count;
      start = performance.now();
      const scrapes = 200;
      for (let i = 0; i < scrapes; i++) await registry.metrics();
      const scrapeUs = ((performance.now() - start) * 1000) / scrapes / count;
      console.log(`gpu telemetry cost, ${count} simulated GPUs: sample+update ${updateUs.toFixed(2)} µs per GPU per sample; /metrics render ${scrapeUs.toFixed(2)} µs per GPU per scrape`);
      expect(updateUs).toBeGreaterThan(0);
    }
  });
});
