import { describe, expect, it } from 'vitest';
import { parseClusterSpec, shrinkCluster } from './cluster-spec.js';

describe('cluster spec', () => {
  const spec = parseClusterSpec(
    {
      nodes: [
        { name: 'dgx', count: 4, gpus: 8, gpuModel: 'H100-80GB', cpus: 112, memory: '2Ti', labels: { rack: 'r1' } },
        { name: 'l4', count: 12, gpus: 2, gpuModel: 'L4-24GB' },
        { name: 'cpu', cpus: 64, memory: '256Gi' },
      ],
    },
    'cluster.yaml',
  );
  it('expands groups into named nodes with cores in milli-cores and memory in MiB', () => {
    expect(spec.nodes.map((n) => n.name)).toEqual(['dgx-0', 'dgx-1', 'dgx-2', 'dgx-3', ...Array.from({ length: 12 }, (_, i) => `l4-${String(i).padStart(2, '0')}`), 'cpu']);
    expect(spec.nodes[0]).toEqual({ name: 'dgx-0', gpus: 8, gpuModel: 'H100-80GB', cpuMilli: 112_000, memoryMiB: 2 * 1024 * 1024, labels: { rack: 'r1' } });
    expect(spec.nodes.at(-1)).toMatchObject({ name: 'cpu', gpus: 0, gpuModel: null, cpuMilli: 64_000, memoryMiB: 262_144 });
  });
  it('names the field at fault', () => {
    expect(() => parseClusterSpec({ nodes: [{ name: 'x', gpus: 2 }] }, 'c.yaml')).toThrow(/c\.yaml: .*nodes\[0\]\.gpuModel/);
    expect(() => parseClusterSpec({ nodes: [{ name: 'x', memory: 'lots' }] }, 'c.yaml')).toThrow(/nodes\[0\]\.memory/);
    expect(() => parseClusterSpec({ nodes: [] }, 'c.yaml')).toThrow(/nodes/);
  });
  it('shrinks every group in proportion', () => {
    const half = shrinkCluster(spec, 0.5);
    expect(half.nodes.filter((n) => n.gpuModel === 'H100-80GB')).toHaveLength(2);
    expect(half.nodes.filter((n) => n.gpuModel === 'L4-24GB')).toHaveLength(6);
    expect(shrinkCluster(spec, 1).nodes).toHaveLength(17);
    expect(() => shrinkCluster(spec, 0.01)).toThrow(/leaves no node/);
    expect(() => shrinkCluster(spec, 1.5)).toThrow(/\(0, 1\]/);
  });
});
