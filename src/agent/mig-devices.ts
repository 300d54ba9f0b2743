import type { Gpu } from '../core/api-types.js';

/**
 * MIG instances as GPUs of their own: a GPU split into MIG instances is offered as those instances
 * instead, each a model of its own (`A100-40GB-1g.5gb`), so the scheduler places them like any
 * GPU and a workload asks for a profile by model name. They get indices from 64 up (64 + 8 × the
 * parent's index + the instance's device number), clear of whole GPUs' 0–63, and are addressed by
 * their `MIG-…` UUID in CUDA_VISIBLE_DEVICES, as CUDA requires.
 */
export const MIG_INDEX_BASE = 64;

const gpuLine = /^GPU (\d+): .*\(UUID: (GPU-[^)]+)\)\s*$/;
const migLine = /^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: (MIG-[^)]+)\)\s*$/;

/** Replaces the GPUs of `gpus` that `nvidia-smi -L` shows split into MIG instances by those instances. */
export function withMigDevices(gpus: Gpu[], listOutput: string): Gpu[] {
  const instances = new Map<number, Gpu[]>();
  let parent: Gpu | undefined;
  for (const line of listOutput.split(/\r?\n/)) {
    const g = gpuLine.exec(line);
    if (g) {
      parent = gpus.find((gpu) => gpu.uuid === g[2]);
      continue;
    }
    const m = migLine.exec(line);
    if (!m || !parent) continue;
    const [, profile, device, uuid] = m as unknown as [string, string, string, string];
    const list = instances.get(parent.index) ?? [];
    list.push({ index: MIG_INDEX_BASE + parent.index * 8 + Number(device), uuid, model: `${parent.model}-${profile}`, memoryMiB: profileMemoryMiB(profile) });
    instances.set(parent.index, list);
  }
  return gpus.flatMap((gpu) => instances.get(gpu.index) ?? [gpu]).sort((a, b) => a.index - b.index);
}

/** `1g.10gb` → 10240 MiB; 0 when the profile does not say. */
function profileMemoryMiB(profile: string): number {
  const match = /\.(\d+)gb/i.exec(profile);
  return match ? Number(match[1]) * 1024 : 0;
}

/** What CUDA_VISIBLE_DEVICES names for the given GPU indices: MIG instances by UUID, whole GPUs by index. */
export function visibleDevices(indices: number[], gpus: readonly Gpu[]): string {
  return indices.map((i) => (i >= MIG_INDEX_BASE ? (gpus.find((g) => g.index === i)?.uuid ?? String(i)) : String(i))).join(',');
}
