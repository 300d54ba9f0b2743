import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpuSchema } from '../core/api-types.js';
import { discoverGpus, gpuModelName, parseNvidiaSmiCsv, queryNvidiaSmi, simulatedGpus } from './gpu-discovery.js';

// What `nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits` prints.
const dgxH100 = `0, GPU-4f9c2a7e-1b3d-5e8f-9a0b-2c4d6e8f0a1b, NVIDIA H100 80GB HBM3, 81559
1, GPU-7a1e3c5b-9d2f-4b6a-8c0e-1f3a5b7c9d2e, NVIDIA H100 80GB HBM3, 81559
2, GPU-0b2d4f6a-8c1e-3a5c-7e9b-2d4f6a8c0e1a, NVIDIA H100 80GB HBM3, 81559
3, GPU-9e8d7c6b-5a4f-3e2d-1c0b-a9f8e7d6c5b4, NVIDIA H100 80GB HBM3, 81559
4, GPU-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d, NVIDIA H100 80GB HBM3, 81559
5, GPU-6d5c4b3a-2f1e-0d9c-8b7a-6f5e4d3c2b1a, NVIDIA H100 80GB HBM3, 81559
6, GPU-3c4d5e6f-7a8b-9c0d-1e2f-3a4b5c6d7e8f, NVIDIA H100 80GB HBM3, 81559
7, GPU-8f7e6d5c-4b3a-2f1e-0d9c-8b7a6f5e4d3c, NVIDIA H100 80GB HBM3, 81559
`;
const a100Sxm40 = `0, GPU-2b8e1c4a-6f3d-9a7b-0c5e-8d1f4a7b2c6e, NVIDIA A100-SXM4-40GB, 40960
1, GPU-5c9f2d6b-0a4e-8b1c-3d7f-9e2a5b8c1d4f, NVIDIA A100-SXM4-40GB, 40960
2, GPU-d3a7e1b5-9c2f-6d0a-4e8b-1f5c9a3d7e2b, NVIDIA A100-SXM4-40GB, 40960
3, GPU-e4b8f2c6-0d3a-7e1b-5f9c-2a6d0b4e8f3c, NVIDIA A100-SXM4-40GB, 40960
`;
const v100Sxm2 = `0, GPU-9a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d, Tesla V100-SXM2-16GB, 16160
1, GPU-8b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e, Tesla V100-SXM2-16GB, 16160
`;
const rtx4090 = `0, GPU-c1e3a5b7-d9f2-4a6c-8e0b-2d4f6a8c0e1f, NVIDIA GeForce RTX 4090, 24564
`;

describe('parseNvidiaSmiCsv', () => {
  it('reads a DGX H100', () => {
    const gpus = parseNvidiaSmiCsv(dgxH100);
    expect(gpus).toHaveLength(8);
    expect(gpus[0]).toEqual({ index: 0, uuid: 'GPU-4f9c2a7e-1b3d-5e8f-9a0b-2c4d6e8f0a1b', model: 'H100-80GB', memoryMiB: 81559 });
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const g of gpus) expect(gpuSchema.safeParse(g).success).toBe(true);
  });

  it('reads A100, V100 and RTX 4090 boards', () => {
    expect(parseNvidiaSmiCsv(a100Sxm40).map((g) => g.model)).toEqual(['A100-40GB', 'A100-40GB', 'A100-40GB', 'A100-40GB']);
    expect(parseNvidiaSmiCsv(v100Sxm2).map((g) => [g.model, g.memoryMiB])).toEqual([
      ['V100-16GB', 16160],
      ['V100-16GB', 16160],
    ]);
    expect(parseNvidiaSmiCsv(rtx4090)).toEqual([{ index: 0, uuid: 'GPU-c1e3a5b7-d9f2-4a6c-8e0b-2d4f6a8c0e1f', model: 'RTX4090-24GB', memoryMiB: 24564 }]);
  });

  it('sorts by index and skips lines that are not GPU rows', () => {
    const output = `WARNING: infoROM is corrupted at gpu 0000:41:00.0\r\n1, GPU-b, NVIDIA L4, 23034\r\n\r\n0, GPU-a, NVIDIA L4, 23034\r\n`;
    expect(parseNvidiaSmiCsv(output).map((g) => [g.index, g.uuid, g.model])).toEqual([
      [0, 'GPU-a', 'L4-24GB'],
      [1, 'GPU-b', 'L4-24GB'],
    ]);
  });

  it('takes the memory from the name when nvidia-smi cannot say', () => {
    expect(parseNvidiaSmiCsv('0, GPU-x, NVIDIA A100-SXM4-80GB, [N/A]\n')).toEqual([{ index: 0, uuid: 'GPU-x', model: 'A100-80GB', memoryMiB: 0 }]);
  });

  it('reads no GPU from empty output', () => {
    expect(parseNvidiaSmiCsv('')).toEqual([]);
    expect(parseNvidiaSmiCsv('No devices were found\n')).toEqual([]);
  });
});

describe('gpuModelName', () => {
  it.each([
    ['NVIDIA H100 80GB HBM3', 81559, 'H100-80GB'],
    ['NVIDIA H100 PCIe', 81559, 'H100-80GB'],
    ['NVIDIA H100 NVL', 95830, 'H100NVL-94GB'],
    ['NVIDIA H200', 143771, 'H200-141GB'],
    ['NVIDIA A100-SXM4-40GB', 40536, 'A100-40GB'],
    ['NVIDIA A100-SXM4-80GB', 81920, 'A100-80GB'],
    ['NVIDIA A100 80GB PCIe', 81920, 'A100-80GB'],
    ['Tesla V100-SXM2-16GB', 16160, 'V100-16GB'],
    ['Tesla V100-SXM2-32GB', 32510, 'V100-32GB'],
    ['Tesla T4', 15360, 'T4-16GB'],
    ['NVIDIA L4', 23034, 'L4-24GB'],
    ['NVIDIA L40S', 46068, 'L40S-48GB'],
    ['NVIDIA A10G', 23028, 'A10G-24GB'],
    ['NVIDIA GeForce RTX 4090', 24564, 'RTX4090-24GB'],
    ['NVIDIA GeForce RTX 3080 Ti', 12288, 'RTX3080Ti-12GB'],
    ['NVIDIA GeForce RTX 2080 Ti', 11264, 'RTX2080Ti-11GB'],
    ['NVIDIA RTX A6000', 49140, 'RTXA6000-48GB'],
    ['NVIDIA RTX 6000 Ada Generation', 49140, 'RTX6000Ada-48GB'],
  ])('%s with %i MiB is %s', (name, memoryMiB, model) => {
    expect(gpuModelName(name, memoryMiB)).toBe(model);
  });
});

describe('simulatedGpus', () => {
  it('numbers pools in order with uuids that stay the same', () => {
    const gpus = simulatedGpus('4xA100-40GB, 2xL4-24GB', 'node-a');
    expect(gpus.map((g) => [g.index, g.uuid, g.model, g.memoryMiB])).toEqual([
      [0, 'GPU-sim-node-a-0', 'A100-40GB', 40960],
      [1, 'GPU-sim-node-a-1', 'A100-40GB', 40960],
      [2, 'GPU-sim-node-a-2', 'A100-40GB', 40960],
      [3, 'GPU-sim-node-a-3', 'A100-40GB', 40960],
      [4, 'GPU-sim-node-a-4', 'L4-24GB', 24576],
      [5, 'GPU-sim-node-a-5', 'L4-24GB', 24576],
    ]);
    expect(simulatedGpus('4xA100-40GB,2xL4-24GB', 'node-a')).toEqual(gpus);
  });

  it('rejects a spec that is not a pool list', () => {
    expect(() => simulatedGpus('H100', 'n')).toThrow(/COUNTxMODEL/);
  });
});

describe('discoverGpus', () => {
  const none = async () => ({ gpus: [], problem: 'nvidia-smi: not found' });
  const two = async () => ({ gpus: parseNvidiaSmiCsv(v100Sxm2), problem: null });

  it('simulates when asked, without looking for real GPUs', async () => {
    const inventory = await discoverGpus({ nodeName: 'n1', simulateGpus: '8xH100-80GB', queryGpus: two });
    expect(inventory.simulated).toBe(true);
    expect(inventory.gpus).toHaveLength(8);
    expect(inventory.summary).toContain('8 SIMULATED GPUs (8xH100-80GB)');
  });

  it('simulates only when none are found, if so asked', async () => {
    const fallback = await discoverGpus({ nodeName: 'n1', simulateGpusIfNone: '8xH100-80GB', queryGpus: none });
    expect(fallback.simulated).toBe(true);
    expect(fallback.summary).toBe('no NVIDIA GPU found (nvidia-smi: not found); using 8 SIMULATED GPUs (8xH100-80GB)');
    const real = await discoverGpus({ nodeName: 'n1', simulateGpusIfNone: '8xH100-80GB', queryGpus: two });
    expect(real).toMatchObject({ simulated: false, summary: 'found 2 NVIDIA GPUs: 2xV100-16GB' });
    expect(real.gpus).toHaveLength(2);
  });

  it('offers no GPUs when there are none and none are simulated', async () => {
    expect(await discoverGpus({ nodeName: 'n1', queryGpus: none })).toEqual({
      gpus: [],
      simulated: false,
      summary: 'no NVIDIA GPU found (nvidia-smi: not found); this node offers no GPUs',
    });
  });
});

describe('queryNvidiaSmi', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gpufleet-smi-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fakeSmi(name: string, script: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${script}\n`);
    await chmod(path, 0o755);
    return path;
  }

  it('parses what nvidia-smi prints', async () => {
    const smi = await fakeSmi('ok', `[ "$1" = "--query-gpu=index,uuid,name,memory.total" ] || exit 2\ncat <<'EOF'\n${a100Sxm40}EOF`);
    const result = await queryNvidiaSmi(smi);
    expect(result.problem).toBeNull();
    expect(result.gpus.map((g) => g.model)).toEqual(['A100-40GB', 'A100-40GB', 'A100-40GB', 'A100-40GB']);
  });

  it('says why it found nothing', async () => {
    expect(await queryNvidiaSmi(join(dir, 'missing'))).toEqual({ gpus: [], problem: 'nvidia-smi: not found' });
    const noDriver = await fakeSmi(
      'nodriver',
      `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."; exit 9`,
    );
    expect((await queryNvidiaSmi(noDriver)).problem).toMatch(/^nvidia-smi: NVIDIA-SMI has failed because it couldn't communicate/);
    const noDevices = await fakeSmi('nodevices', 'echo "No devices were found"; exit 6');
    expect(await queryNvidiaSmi(noDevices)).toEqual({ gpus: [], problem: 'nvidia-smi: No devices were found' });
    const empty = await fakeSmi('empty', 'exit 0');
    expect(await queryNvidiaSmi(empty)).toEqual({ gpus: [], problem: 'nvidia-smi listed none' });
  });

  it('gives up on an nvidia-smi that hangs', async () => {
    const hangs = await fakeSmi('hangs', 'exec sleep 10');
    expect(await queryNvidiaSmi(hangs, 200)).toEqual({ gpus: [], problem: 'nvidia-smi: no answer within 200 ms' });
  });
});
