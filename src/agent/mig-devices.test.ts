import { describe, expect, it } from 'vitest';
import { visibleDevices, withMigDevices } from './mig-devices.js';
import type { Gpu } from '../core/api-types.js';

// `nvidia-smi -L` on an A100 node where GPU 0 is split into two 3g.20gb instances and GPU 1 is whole.
const listing = `GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-aaaa)
  MIG 3g.20gb     Device  0: (UUID: MIG-1111)
  MIG 3g.20gb     Device  1: (UUID: MIG-2222)
GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-bbbb)
`;

const gpus: Gpu[] = [
  { index: 0, uuid: 'GPU-aaaa', model: 'A100-40GB', memoryMiB: 40960 },
  { index: 1, uuid: 'GPU-bbbb', model: 'A100-40GB', memoryMiB: 40960 },
];

describe('MIG devices', () => {
  it('offers the instances of a split GPU in its place, each a model of its own', () => {
    expect(withMigDevices(gpus, listing)).toEqual([
      { index: 1, uuid: 'GPU-bbbb', model: 'A100-40GB', memoryMiB: 40960 },
      { index: 64, uuid: 'MIG-1111', model: 'A100-40GB-3g.20gb', memoryMiB: 20480 },
      { index: 65, uuid: 'MIG-2222', model: 'A100-40GB-3g.20gb', memoryMiB: 20480 },
    ]);
  });

  it('leaves GPUs alone when there is no MIG or the listing is unreadable', () => {
    expect(withMigDevices(gpus, 'GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-aaaa)\n')).toEqual(gpus);
    expect(withMigDevices(gpus, 'NVIDIA-SMI has failed\n')).toEqual(gpus);
  });

  it('names MIG instances by UUID and whole GPUs by index', () => {
    const offered = withMigDevices(gpus, listing);
    expect(visibleDevices([64], offered)).toBe('MIG-1111');
    expect(visibleDevices([1], offered)).toBe('1');
  });
});
