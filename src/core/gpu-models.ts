import { z } from 'zod';

/**
 * A GPU model is named like `H100-80GB`: the product, then its memory. Simulated GPUs are declared
 * as pools such as `8xH100-80GB`; several pools are separated by commas.
 */
export const gpuModelSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a GPU model name such as H100-80GB');

export interface GpuPool {
  count: number;
  model: string;
  memoryMiB: number;
}

/** Memory in MiB from a model name's `-80GB` suffix; 0 when the name does not say. */
export function memoryFromModel(model: string): number {
  const match = /-(\d+)GB$/i.exec(model);
  return match ? Number(match[1]) * 1024 : 0;
}

export function parseGpuPools(spec: string): GpuPool[] {
  const pools: GpuPool[] = [];
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^(\d+)x([A-Za-z0-9][A-Za-z0-9._-]*)$/.exec(part);
    if (!match) throw new Error(`"${part}" is not a GPU pool; write it as COUNTxMODEL, e.g. 8xH100-80GB`);
    const count = Number(match[1]);
    if (count < 1 || count > 64) throw new Error(`"${part}": count must be between 1 and 64`);
    const model = match[2]!;
    pools.push({ count, model, memoryMiB: memoryFromModel(model) });
  }
  if (pools.length === 0) throw new Error('no GPU pools given; write e.g. 8xH100-80GB');
  return pools;
}
