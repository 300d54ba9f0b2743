import { describe, expect, it } from 'vitest';
import { parseManifest } from './manifest.js';
import { parseGpuPools, memoryFromModel } from './gpu-models.js';

describe('manifests', () => {
  it('accepts a queue with quotas and fills defaults', () => {
    const r = parseManifest({ apiVersion: 'gpufleet.dev/v1', kind: 'Queue', metadata: { name: 'research' }, spec: { team: 'ml', quotas: [{ gpuModel: 'H100-80GB', guaranteed: 8, limit: 16 }] } });
    expect(r.ok).toBe(true);
    if (r.ok && r.manifest.kind === 'Queue') expect(r.manifest.spec.quotas[0]).toEqual({ gpuModel: 'H100-80GB', guaranteed: 8, limit: 16, overQuotaWeight: 1 });
  });

  it('rejects unknown fields and bad values with their paths', () => {
    const r = parseManifest({ apiVersion: 'gpufleet.dev/v1', kind: 'Queue', metadata: { name: 'r' }, spec: { team: 'ml', colour: 'red', quotas: [{ guaranteed: -1 }] } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path).sort()).toEqual(['spec.colour', 'spec.quotas[0].guaranteed']);
  });

  it('rejects a wrong apiVersion or kind first', () => {
    expect(parseManifest({ apiVersion: 'v2', kind: 'Team', metadata: { name: 'a' } })).toMatchObject({ ok: false, issues: [{ path: 'apiVersion' }] });
    expect(parseManifest({ apiVersion: 'gpufleet.dev/v1', kind: 'Pod' })).toMatchObject({ ok: false, issues: [{ path: 'kind' }] });
    expect(parseManifest('text')).toMatchObject({ ok: false });
  });

  it('rejects names that are not DNS labels', () => {
    const r = parseManifest({ apiVersion: 'gpufleet.dev/v1', kind: 'Team', metadata: { name: 'ML_Team' } });
    expect(r).toMatchObject({ ok: false, issues: [{ path: 'metadata.name' }] });
  });
});

describe('GPU pools', () => {
  it('parses several pools', () => {
    expect(parseGpuPools('8xH100-80GB, 2xL4-24GB')).toEqual([
      { count: 8, model: 'H100-80GB', memoryMiB: 81920 },
      { count: 2, model: 'L4-24GB', memoryMiB: 24576 },
    ]);
    expect(memoryFromModel('T4')).toBe(0);
  });
  it('explains a bad pool', () => {
    expect(() => parseGpuPools('H100')).toThrow(/COUNTxMODEL/);
    expect(() => parseGpuPools('0xH100-80GB')).toThrow(/between 1 and 64/);
  });
});
