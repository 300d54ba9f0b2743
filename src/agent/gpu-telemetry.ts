import { execFile } from 'node:child_process';
import type { Gpu } from '../core/api-types.js';
import { hashString, seededRandom } from '../core/seeded-random.js';
import type { Logger } from '../observe/logger.js';

/**
 * Per-GPU telemetry for the node agent: what each GPU is doing, sampled every few seconds and
 * exposed with DCGM exporter names (dcgm-metrics.ts). Real GPUs are read with nvidia-smi; simulated
 * GPUs follow a documented synthetic model (docs/gpu-telemetry.md).
 */

/** One reading of one GPU. A null field is one the source could not give (`[N/A]`, `[Not Supported]`). */
export interface GpuSample {
  index: number;
  uuid: string;
  /** Percent of the sample period a kernel ran (DCGM_FI_DEV_GPU_UTIL), 0..100. */
  utilPct: number | null;
  /** Ratio of time the graphics engine was active (DCGM_FI_PROF_GR_ENGINE_ACTIVE), 0..1; approximated from utilPct without DCGM. */
  grEngineActive: number | null;
  fbUsedMiB: number | null;
  fbFreeMiB: number | null;
  fbTotalMiB: number | null;
  powerW: number | null;
  tempC: number | null;
  smClockMHz: number | null;
  /** Uncorrectable (double-bit) ECC errors since the driver loaded; absent or null when unknown. */
  eccDbeVolatile?: number | null;
  /** The last XID error seen; absent when unknown (nvidia-smi does not report it). */
  xidLast?: number | null;
}

export interface GpuSampler {
  /** One sample per GPU; rejects when nothing could be read. */
  sample(): Promise<GpuSample[]>;
}

/** Who holds a GPU: the running replica that was assigned it. */
export interface GpuHolder {
  replicaId: string;
  workloadName: string;
  /** Empty until the server sends them with the assignment. */
  team: string;
  queue: string;
  /** The replica's declared environment (the simulated model reads GPUFLEET_SIM_GPU_* from it). */
  env: Readonly<Record<string, string>>;
}

/** The current holder of the GPU with this index, or null when it is idle. */
export type HolderLookup = (index: number) => GpuHolder | null;

// ---- real GPUs: nvidia-smi ----

export const nvidiaSmiTelemetryFields = [
  'index',
  'uuid',
  'utilization.gpu',
  'memory.used',
  'memory.free',
  'memory.total',
  'power.draw',
  'temperature.gpu',
  'clocks.sm',
  'ecc.errors.uncorrected.volatile.total',
] as const;

export const nvidiaSmiTelemetryArgs = [`--query-gpu=${nvidiaSmiTelemetryFields.join(',')}`, '--format=csv,noheader,nounits'];

export interface NvidiaSmiSamplerOptions {
  command?: string;
  timeoutMs?: number;
}

/** Samples real GPUs with one `nvidia-smi --query-gpu` call (one process per sample, for all GPUs). */
export class NvidiaSmiSampler implements GpuSampler {
  private readonly command: string;
  private readonly timeoutMs: number;

  constructor(options: NvidiaSmiSamplerOptions = {}) {
    this.command = options.command ?? 'nvidia-smi';
    this.timeoutMs = options.timeoutMs ?? 4000;
  }

  sample(): Promise<GpuSample[]> {
    return new Promise((resolve, reject) => {
      execFile(this.command, nvidiaSmiTelemetryArgs, { timeout: this.timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          if (e.code === 'ENOENT') return reject(new Error(`${this.command}: not found`));
          if (e.killed) return reject(new Error(`${this.command}: no answer within ${this.timeoutMs} ms`));
          const said = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
          return reject(new Error(`${this.command}: ${said ?? e.message}`));
        }
        const samples = parseNvidiaSmiTelemetry(stdout);
        if (samples.length === 0) return reject(new Error(`${this.command} listed no GPU`));
        resolve(samples);
      });
    });
  }
}

/** A number, or null for `[N/A]`, `[Not Supported]`, `[Unknown Error]`, `[GPU is lost]`, … */
function smiNumber(field: string | undefined): number | null {
  if (field === undefined) return null;
  const f = field.trim();
  if (f === '' || f.startsWith('[') || /^n\/?a$/i.test(f)) return null;
  const n = Number(f);
  return Number.isFinite(n) ? n : null;
}

/**
 * Parses the rows of nvidiaSmiTelemetryArgs (`csv,noheader,nounits`), in field order. Rows that do not
 * fit (warnings, a wrong field count, no `GPU-` uuid) are skipped. Graphics-engine activity is not
 * something nvidia-smi reports: it is approximated as utilization / 100 (DCGM profiling gives the real one).
 */
export function parseNvidiaSmiTelemetry(output: string): GpuSample[] {
  const samples: GpuSample[] = [];
  for (const line of output.split(/\r?\n/)) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length !== nvidiaSmiTelemetryFields.length) continue;
    const index = Number(fields[0]);
    const uuid = fields[1]!;
    if (fields[0] === '' || !Number.isInteger(index) || index < 0 || index > 255 || !uuid.startsWith('GPU-')) continue;
    const utilPct = smiNumber(fields[2]);
    samples.push({
      index,
      uuid,
      utilPct,
      grEngineActive: utilPct === null ? null : clamp(utilPct / 100, 0, 1),
      fbUsedMiB: smiNumber(fields[3]),
      fbFreeMiB: smiNumber(fields[4]),
      fbTotalMiB: smiNumber(fields[5]),
      powerW: smiNumber(fields[6]),
      tempC: smiNumber(fields[7]),
      smClockMHz: smiNumber(fields[8]),
      eccDbeVolatile: smiNumber(fields[9]),
    });
  }
  return samples.sort((a, b) => a.index - b.index);
}

// ---- simulated GPUs: a synthetic model ----

/** Declared by a replica in its env: the fraction of time its GPUs are busy, 0..1. */
export const simUtilEnv = 'GPUFLEET_SIM_GPU_UTIL';
/** Declared by a replica in its env: the fraction of each GPU's memory it uses, 0..1. */
export const simMemFractionEnv = 'GPUFLEET_SIM_GPU_MEM_FRACTION';
export const defaultSimUtil = 0.9;
export const defaultSimMemFraction = 0.6;

/** How a GPU model draws power and heats up, idle and at full load. */
export interface GpuPowerProfile {
  idleW: number;
  tdpW: number;
  idleTempC: number;
  maxTempC: number;
  idleSmClockMHz: number;
  maxSmClockMHz: number;
}

/** By product (the model name without its `-<N>GB`); published TDPs, typical idle draw of a data-centre board. */
export const gpuPowerProfiles: Readonly<Record<string, GpuPowerProfile>> = {
  H100: { idleW: 70, tdpW: 700, idleTempC: 32, maxTempC: 72, idleSmClockMHz: 345, maxSmClockMHz: 1980 },
  H200: { idleW: 75, tdpW: 700, idleTempC: 32, maxTempC: 72, idleSmClockMHz: 345, maxSmClockMHz: 1980 },
  H100NVL: { idleW: 60, tdpW: 400, idleTempC: 32, maxTempC: 75, idleSmClockMHz: 345, maxSmClockMHz: 1785 },
  B200: { idleW: 140, tdpW: 1000, idleTempC: 33, maxTempC: 75, idleSmClockMHz: 345, maxSmClockMHz: 1965 },
  A100: { idleW: 55, tdpW: 400, idleTempC: 30, maxTempC: 70, idleSmClockMHz: 210, maxSmClockMHz: 1410 },
  A10: { idleW: 20, tdpW: 150, idleTempC: 30, maxTempC: 75, idleSmClockMHz: 210, maxSmClockMHz: 1695 },
  L40S: { idleW: 35, tdpW: 350, idleTempC: 30, maxTempC: 75, idleSmClockMHz: 210, maxSmClockMHz: 2520 },
  L4: { idleW: 16, tdpW: 72, idleTempC: 30, maxTempC: 75, idleSmClockMHz: 210, maxSmClockMHz: 2040 },
  T4: { idleW: 10, tdpW: 70, idleTempC: 30, maxTempC: 75, idleSmClockMHz: 300, maxSmClockMHz: 1590 },
  RTX4090: { idleW: 20, tdpW: 450, idleTempC: 32, maxTempC: 80, idleSmClockMHz: 210, maxSmClockMHz: 2520 },
};
export const defaultPowerProfile: GpuPowerProfile = { idleW: 50, tdpW: 300, idleTempC: 30, maxTempC: 75, idleSmClockMHz: 300, maxSmClockMHz: 1500 };

export function powerProfileFor(model: string): GpuPowerProfile {
  const product = model.replace(/-\d+GB$/i, '');
  return gpuPowerProfiles[product] ?? gpuPowerProfiles[product.toUpperCase()] ?? defaultPowerProfile;
}

export interface SimulatedSamplerOptions {
  gpus: readonly Gpu[];
  holderOf: HolderLookup;
  /** Seeds the jitter; the same seed and the same calls give the same samples. */
  seed?: number;
  /** Jitter amplitude, 1 by default; 0 gives the model's exact values. */
  jitter?: number;
}

interface SimState {
  gpu: Gpu;
  profile: GpuPowerProfile;
  random: () => number;
}

/**
 * The synthetic model (docs/gpu-telemetry.md): an idle GPU computes nothing, uses no memory and draws
 * its idle power; a GPU held by a running replica is as busy as the replica declares
 * (GPUFLEET_SIM_GPU_UTIL, default 0.9) and fills GPUFLEET_SIM_GPU_MEM_FRACTION of its memory (default
 * 0.6); power, temperature and SM clock go linearly from idle to full load with utilization. A small
 * seeded jitter keeps graphs alive and runs reproducible.
 */
export class SimulatedSampler implements GpuSampler {
  private readonly states: SimState[];
  private readonly holderOf: HolderLookup;
  private readonly jitter: number;

  constructor(options: SimulatedSamplerOptions) {
    const seed = options.seed ?? 0;
    this.holderOf = options.holderOf;
    this.jitter = options.jitter ?? 1;
    this.states = options.gpus.map((gpu) => ({ gpu, profile: powerProfileFor(gpu.model), random: seededRandom(hashString(gpu.uuid, seed)) }));
  }

  sample(): Promise<GpuSample[]> {
    return Promise.resolve(this.sampleNow());
  }

  /** Synchronous form of sample(). */
  sampleNow(): GpuSample[] {
    return this.states.map((s) => this.sampleOne(s));
  }

  private sampleOne({ gpu, profile: p, random }: SimState): GpuSample {
    // Always draw the same count of numbers, held or not, so one GPU's history does not shift another's.
    const j = () => (random() * 2 - 1) * this.jitter;
    const jUtil = j();
    const jMem = j();
    const jPower = j();
    const jTemp = j();
    const holder = this.holderOf(gpu.index);
    const total = gpu.memoryMiB;
    let util = 0;
    let memFraction = 0;
    if (holder) {
      util = clamp(declared(holder.env[simUtilEnv], defaultSimUtil) + 0.02 * jUtil, 0, 1);
      memFraction = clamp(declared(holder.env[simMemFractionEnv], defaultSimMemFraction) + 0.002 * jMem, 0, 1);
    }
    const utilPct = round(util * 100, 1);
    const fbUsedMiB = Math.round(memFraction * total);
    return {
      index: gpu.index,
      uuid: gpu.uuid,
      utilPct,
      grEngineActive: round(util, 3),
      fbUsedMiB,
      fbFreeMiB: total - fbUsedMiB,
      fbTotalMiB: total,
      powerW: round(Math.max(0, lerp(p.idleW, p.tdpW, util) + jPower * 0.01 * p.tdpW), 1),
      tempC: Math.round(lerp(p.idleTempC, p.maxTempC, util) + jTemp),
      smClockMHz: Math.round(util > 0 ? p.maxSmClockMHz : p.idleSmClockMHz),
      eccDbeVolatile: 0,
    };
  }
}

/** A declared fraction: a number in 0..1, else the default (a bad value must not break the telemetry). */
function declared(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  return Number.isFinite(n) ? clamp(n, 0, 1) : fallback;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---- the sampling loop ----

/** What the loop hands each sample to (DcgmMetrics.update). */
export type TelemetrySink = (samples: GpuSample[]) => void;

export interface TelemetryLoopOptions {
  sampler: GpuSampler;
  sink: TelemetrySink;
  intervalMs?: number;
  logger?: Logger;
}

/**
 * Samples now, then every intervalMs (5 s by default; samples never overlap). A failed sample never
 * throws: it is logged once per failure streak, and the recovery is logged too.
 */
export class TelemetryLoop {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failingSince: number | null = null;
  private running: Promise<void> | null = null;
  readonly intervalMs: number;

  constructor(private readonly options: TelemetryLoopOptions) {
    this.intervalMs = Math.max(100, options.intervalMs ?? 5000);
  }

  start(): void {
    this.stopped = false;
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    await this.tick();
    if (this.stopped) return;
    this.timer = setTimeout(() => (this.running = this.loop()), this.intervalMs);
    this.timer.unref();
  }

  /** One sample now; resolves once it went to the sink (or failed and was logged). Never rejects. */
  async tick(): Promise<void> {
    try {
      const samples = await this.options.sampler.sample();
      if (this.stopped) return;
      this.options.sink(samples);
      if (this.failingSince !== null) {
        this.options.logger?.info(`GPU telemetry works again after ${((Date.now() - this.failingSince) / 1000).toFixed(1)} s`);
        this.failingSince = null;
      }
    } catch (err) {
      if (this.failingSince === null) {
        this.failingSince = Date.now();
        this.options.logger?.warn({ err: (err as Error).message }, `cannot sample GPU telemetry (${(err as Error).message}); the DCGM metrics keep their last values, retrying`);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
