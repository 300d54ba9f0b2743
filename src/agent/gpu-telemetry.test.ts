import { describe, expect, it, vi } from 'vitest';
import { simulatedGpus } from './gpu-discovery.js';
import {
  NvidiaSmiSampler,
  SimulatedSampler,
  TelemetryLoop,
  parseNvidiaSmiTelemetry,
  powerProfileFor,
  type GpuHolder,
  type GpuSample,
  type GpuSampler,
} from './gpu-telemetry.js';

// What `nvidia-smi --query-gpu=index,uuid,utilization.gpu,memory.used,memory.free,memory.total,power.draw,
// temperature.gpu,clocks.sm,ecc.errors.uncorrected.volatile.total --format=csv,noheader,nounits` prints on
// an 8xH100 SXM node under a training job, with a board whose power sensor and ECC counter are unavailable.
const h100Output = `0, GPU-4d3a1f6e-8c1b-2f7a-9e4d-0a1b2c3d4e5f, 97, 61234, 19845, 81559, 642.18, 64, 1980, 0
1, GPU-5e4b2a7f-9d2c-3a8b-0f5e-1b2c3d4e5f60, 95, 61234, 19845, 81559, 655.02, 66, 1980, 0
2, GPU-6f5c3b80-0e3d-4b9c-1a6f-2c3d4e5f6071, 0, 0, 81079, 81559, 71.44, 31, 345, 0
3, GPU-70ad4c91-1f4e-5cad-2b70-3d4e5f607182, [N/A], 2, 81077, 81559, [N/A], 30, 345, [N/A]
4, GPU-81be5da2-2a5f-6dbe-3c81-4e5f60718293, 12, 1024, 80055, 81559, [Not Supported], 35, 1755, [Not Supported]
`;

describe('parseNvidiaSmiTelemetry', () => {
  it('reads H100 rows, with [N/A] and [Not Supported] as null', () => {
    const samples = parseNvidiaSmiTelemetry(h100Output);
    expect(samples).toHaveLength(5);
    expect(samples[0]).toEqual({
      index: 0,
      uuid: 'GPU-4d3a1f6e-8c1b-2f7a-9e4d-0a1b2c3d4e5f',
      utilPct: 97,
      grEngineActive: 0.97,
      fbUsedMiB: 61234,
      fbFreeMiB: 19845,
      fbTotalMiB: 81559,
      powerW: 642.18,
      tempC: 64,
      smClockMHz: 1980,
      eccDbeVolatile: 0,
    });
    expect(samples[3]).toMatchObject({ index: 3, utilPct: null, grEngineActive: null, powerW: null, eccDbeVolatile: null, tempC: 30, fbUsedMiB: 2 });
    expect(samples[4]).toMatchObject({ index: 4, utilPct: 12, grEngineActive: 0.12, powerW: null, eccDbeVolatile: null });
    expect(samples.every((s) => s.xidLast === undefined)).toBe(true);
  });

  it('skips warnings, headers and rows that do not fit, and sorts by index', () => {
    const out = [
      'index, uuid, utilization.gpu [%], memory.used [MiB], memory.free [MiB], memory.total [MiB], power.draw [W], temperature.gpu, clocks.sm [MHz], ecc.errors.uncorrected.volatile.total',
      'WARNING: infoROM is corrupted at gpu 0000:1B:00.0',
      '1, GPU-b, 50, 100, 900, 1000, 200.5, 50, 1500, 0',
      '0, GPU-a, 40, 100, 900, 1000, 190, 49, 1500, 0',
      '2, not-a-uuid, 40, 100, 900, 1000, 190, 49, 1500, 0',
      '3, GPU-c, 40, 100',
      '',
    ].join('\r\n');
    expect(parseNvidiaSmiTelemetry(out).map((s) => s.uuid)).toEqual(['GPU-a', 'GPU-b']);
  });

  it('rejects with a readable error when nvidia-smi is missing', async () => {
    await expect(new NvidiaSmiSampler({ command: '/nonexistent/nvidia-smi' }).sample()).rejects.toThrow('not found');
  });
});

const holder = (env: Record<string, string> = {}, workloadName = 'train'): GpuHolder => ({ replicaId: 'r1', workloadName, team: '', queue: '', env });

describe('SimulatedSampler', () => {
  const gpus = simulatedGpus('2xH100-80GB', 'n');

  it('an idle GPU computes nothing, uses no memory and draws about its idle power', () => {
    const sampler = new SimulatedSampler({ gpus, holderOf: () => null });
    for (let i = 0; i < 20; i++) {
      for (const s of sampler.sampleNow()) {
        expect(s.utilPct).toBe(0);
        expect(s.grEngineActive).toBe(0);
        expect(s.fbUsedMiB).toBe(0);
        expect(s.fbFreeMiB).toBe(s.fbTotalMiB);
        expect(s.powerW).toBeGreaterThan(60);
        expect(s.powerW).toBeLessThan(80);
        expect(s.smClockMHz).toBe(345);
      }
    }
  });

  it('a held GPU follows what its replica declares, within the jitter', () => {
    const holders: Record<number, GpuHolder | null> = { 0: holder(), 1: holder({ GPUFLEET_SIM_GPU_UTIL: '0.5', GPUFLEET_SIM_GPU_MEM_FRACTION: '0.25' }) };
    const sampler = new SimulatedSampler({ gpus, holderOf: (i) => holders[i] ?? null });
    for (let i = 0; i < 20; i++) {
      const [a, b] = sampler.sampleNow() as [GpuSample, GpuSample];
      expect(a.utilPct).toBeGreaterThanOrEqual(88);
      expect(a.utilPct).toBeLessThanOrEqual(92);
      expect(a.fbUsedMiB! / a.fbTotalMiB!).toBeCloseTo(0.6, 2);
      expect(b.utilPct).toBeGreaterThanOrEqual(48);
      expect(b.utilPct).toBeLessThanOrEqual(52);
      expect(b.fbUsedMiB! / b.fbTotalMiB!).toBeCloseTo(0.25, 2);
      expect(a.powerW!).toBeGreaterThan(b.powerW!);
      expect(a.tempC!).toBeGreaterThan(b.tempC!);
    }
  });

  it('without jitter, power and temperature are linear in utilization', () => {
    const p = powerProfileFor('H100-80GB');
    const sampler = new SimulatedSampler({ gpus, holderOf: (i) => (i === 0 ? holder({ GPUFLEET_SIM_GPU_UTIL: '0.5' }) : null), jitter: 0 });
    const [held, idle] = sampler.sampleNow() as [GpuSample, GpuSample];
    expect(held).toMatchObject({ utilPct: 50, grEngineActive: 0.5, fbUsedMiB: Math.round(0.6 * 81920), powerW: (p.idleW + p.tdpW) / 2, smClockMHz: p.maxSmClockMHz });
    expect(held.tempC).toBe(Math.round((p.idleTempC + p.maxTempC) / 2));
    expect(idle).toMatchObject({ utilPct: 0, fbUsedMiB: 0, powerW: p.idleW, tempC: p.idleTempC });
  });

  it('a bad declaration falls back to the default; an out-of-range one is clamped', () => {
    const env: Record<number, Record<string, string>> = { 0: { GPUFLEET_SIM_GPU_UTIL: 'lots' }, 1: { GPUFLEET_SIM_GPU_UTIL: '7', GPUFLEET_SIM_GPU_MEM_FRACTION: '-1' } };
    const sampler = new SimulatedSampler({ gpus, holderOf: (i) => holder(env[i]), jitter: 0 });
    const [a, b] = sampler.sampleNow() as [GpuSample, GpuSample];
    expect(a.utilPct).toBe(90);
    expect(b.utilPct).toBe(100);
    expect(b.fbUsedMiB).toBe(0);
  });

  it('is deterministic for a seed, and differs between seeds', () => {
    const run = (seed: number) => {
      const sampler = new SimulatedSampler({ gpus, holderOf: () => holder(), seed });
      return Array.from({ length: 5 }, () => sampler.sampleNow());
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('models it does not know get the default profile', () => {
    expect(powerProfileFor('H100-80GB').tdpW).toBe(700);
    expect(powerProfileFor('L4-24GB').tdpW).toBe(72);
    expect(powerProfileFor('MI300X-192GB').tdpW).toBe(300);
  });
});

describe('TelemetryLoop', () => {
  it('never throws on a failing sampler, logs once per failure streak, and recovers', async () => {
    let fail = true;
    const sampler: GpuSampler = { sample: () => (fail ? Promise.reject(new Error('nvidia-smi: GPU is lost')) : Promise.resolve([])) };
    const sink = vi.fn();
    const logger = { warn: vi.fn(), info: vi.fn() };
    const loop = new TelemetryLoop({ sampler, sink, logger: logger as never });
    await loop.tick();
    await loop.tick();
    await loop.tick();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(sink).not.toHaveBeenCalled();
    fail = false;
    await loop.tick();
    expect(sink).toHaveBeenCalledTimes(1);
    expect(logger.info).toHaveBeenCalledTimes(1);
    fail = true;
    await loop.tick();
    expect(logger.warn).toHaveBeenCalledTimes(2);
  });

  it('samples at once on start, then every interval, until stopped', async () => {
    const sink = vi.fn();
    const loop = new TelemetryLoop({ sampler: { sample: () => Promise.resolve([]) }, sink, intervalMs: 100 });
    loop.start();
    await new Promise((r) => setTimeout(r, 250));
    await loop.stop();
    const n = sink.mock.calls.length;
    expect(n).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 150));
    expect(sink.mock.calls.length).toBe(n);
  });
});
