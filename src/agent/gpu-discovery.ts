import { execFile } from 'node:child_process';
import type { Gpu } from '../core/api-types.js';
import { parseGpuPools } from '../core/gpu-models.js';
import { withMigDevices } from './mig-devices.js';

/** What the node offers, and the one line that tells an operator where it came from. */
export interface GpuInventory {
  gpus: Gpu[];
  simulated: boolean;
  summary: string;
}

export interface NvidiaSmiResult {
  gpus: Gpu[];
  /** Why no GPU was found (`nvidia-smi: not found`, its error, …); null when the query worked. */
  problem: string | null;
}

export interface DiscoveryOptions {
  nodeName: string;
  simulateGpus?: string | undefined;
  simulateGpusIfNone?: string | undefined;
  /** Replaces the nvidia-smi query (tests). */
  queryGpus?: () => Promise<NvidiaSmiResult>;
}

export async function discoverGpus(options: DiscoveryOptions): Promise<GpuInventory> {
  if (options.simulateGpus) {
    const gpus = simulatedGpus(options.simulateGpus, options.nodeName);
    return { gpus, simulated: true, summary: `using ${describeSimulated(gpus)} as asked; real GPUs, if any, are not offered` };
  }
  const found = await (options.queryGpus ?? queryNvidiaSmi)();
  if (found.gpus.length > 0) return { gpus: found.gpus, simulated: false, summary: `found ${found.gpus.length} NVIDIA GPUs: ${describePools(found.gpus)}` };
  const why = `no NVIDIA GPU found (${found.problem ?? 'nvidia-smi listed none'})`;
  if (options.simulateGpusIfNone) {
    const gpus = simulatedGpus(options.simulateGpusIfNone, options.nodeName);
    return { gpus, simulated: true, summary: `${why}; using ${describeSimulated(gpus)}` };
  }
  return { gpus: [], simulated: false, summary: `${why}; this node offers no GPUs` };
}

/** Simulated GPUs get uuids derived from the node name so that they stay the same across restarts. */
export function simulatedGpus(spec: string, nodeName: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const pool of parseGpuPools(spec)) {
    for (let i = 0; i < pool.count; i++) {
      const index = gpus.length;
      gpus.push({ index, uuid: `GPU-sim-${nodeName}-${index}`, model: pool.model, memoryMiB: pool.memoryMiB });
    }
  }
  return gpus;
}

const nvidiaSmiArgs = ['--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader,nounits'];

/** The GPUs nvidia-smi lists, with GPUs split into MIG instances replaced by those instances. */
export async function queryNvidiaSmi(command = 'nvidia-smi', timeoutMs = 10_000): Promise<NvidiaSmiResult> {
  const found = await queryGpuRows(command, timeoutMs);
  if (found.gpus.length === 0) return found;
  const listing = await new Promise<string>((resolve) =>
    execFile(command, ['-L'], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout) => resolve(err ? '' : stdout)),
  );
  return { gpus: withMigDevices(found.gpus, listing), problem: null };
}

function queryGpuRows(command: string, timeoutMs: number): Promise<NvidiaSmiResult> {
  return new Promise((resolve) => {
    execFile(command, nvidiaSmiArgs, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) {
        const gpus = parseNvidiaSmiCsv(stdout);
        resolve({ gpus, problem: gpus.length > 0 ? null : 'nvidia-smi listed none' });
        return;
      }
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') return resolve({ gpus: [], problem: 'nvidia-smi: not found' });
      if (e.killed) return resolve({ gpus: [], problem: `nvidia-smi: no answer within ${timeoutMs} ms` });
      // nvidia-smi explains itself on stdout ("NVIDIA-SMI has failed because …", "No devices were found").
      const said = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
      resolve({ gpus: [], problem: `nvidia-smi: ${said ?? e.message}` });
    });
  });
}

/** Parses `index, uuid, name, memory.total` rows; rows that do not fit (headers, warnings) are skipped. */
export function parseNvidiaSmiCsv(output: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const line of output.split(/\r?\n/)) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 4) continue;
    // A name could hold a comma; index and uuid come first and memory last, so the name is the middle.
    const index = Number(fields[0]);
    const uuid = fields[1]!;
    const name = fields.slice(2, -1).join(', ');
    const memory = Number(fields[fields.length - 1]);
    if (!Number.isInteger(index) || index < 0 || index > 255 || fields[0] === '' || !uuid.startsWith('GPU-')) continue;
    const memoryMiB = Number.isFinite(memory) && memory >= 0 ? Math.round(memory) : 0;
    gpus.push({ index, uuid, model: gpuModelName(name, memoryMiB), memoryMiB });
  }
  return gpus.sort((a, b) => a.index - b.index);
}

const vendorWords = new Set(['nvidia', 'tesla', 'geforce', 'quadro', 'generation']);
const formFactor = /^(sxm\d*|pcie|hbm\d*e?)$/i;
/** Sizes boards are sold by; drivers reserve some memory, so what nvidia-smi reports is a little less. */
const marketedGB = [4, 6, 8, 10, 11, 12, 16, 20, 24, 32, 40, 48, 64, 80, 94, 96, 141, 180, 192, 288];

/**
 * gpufleet names models `PRODUCT-<N>GB` ("NVIDIA H100 80GB HBM3" → H100-80GB, "NVIDIA GeForce RTX 4090"
 * → RTX4090-24GB) so that users can ask for one by a name that does not depend on the form factor.
 */
export function gpuModelName(name: string, memoryMiB: number): string {
  const words = name
    .split(/[\s-]+/)
    .filter((w) => w.length > 0 && !vendorWords.has(w.toLowerCase()) && !formFactor.test(w) && !/^\d+GB$/i.test(w));
  const product = words.join('').replace(/[^A-Za-z0-9._]/g, '').replace(/^[._]+/, '') || 'GPU';
  const named = /(\d+)GB/i.exec(name);
  const gb = memoryGB(memoryMiB) ?? (named ? Number(named[1]) : null);
  return gb === null ? product : `${product}-${gb}GB`;
}

/**
 * Reported MiB to the board's size in GB: rounded, and raised to the marketed size when it is at most
 * 8% above. An L4 reports 23034 MiB (22.5 GB) and a T4 15360 MiB, yet people know them as 24 GB and
 * 16 GB boards, and simulated pools are written that way (`2xL4-24GB`).
 */
function memoryGB(memoryMiB: number): number | null {
  if (memoryMiB <= 0) return null;
  const exact = memoryMiB / 1024;
  const marketed = marketedGB.find((size) => size >= exact - 0.5 && exact >= size * 0.92);
  return marketed ?? Math.round(exact);
}

function describeSimulated(gpus: Gpu[]): string {
  return `${gpus.length} SIMULATED ${gpus.length === 1 ? 'GPU' : 'GPUs'} (${describePools(gpus)})`;
}

/** "8xH100-80GB" or "4xA100-40GB, 2xL4-24GB", in index order. */
function describePools(gpus: Gpu[]): string {
  const counts = new Map<string, number>();
  for (const g of gpus) counts.set(g.model, (counts.get(g.model) ?? 0) + 1);
  return [...counts].map(([model, n]) => `${n}x${model}`).join(', ');
}
