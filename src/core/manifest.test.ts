import { describe, expect, it } from 'vitest';
import { parseManifest } from './manifest.js';
import { jobSpecSchema, resolveJobRequest } from './api-types.js';
import { parseGpuPools, memoryFromModel } from './gpu-models.js';

describe('manifests', () => {
  it('accepts a queue with quotas and fills defaults', () => {
    const r = parseManifest({ apiVersion: 'gpufleet.dev/v1', kind: 'Queue', metadata: { name: 'research' }, spec: { team: 'ml', quotas: [{ gpuModel: 'H100-80GB', guaranteed: 8, limit: 16 }] } });
    expect(r.ok).toBe(true);
    if (r.ok && r.manifest.kind === 'Queue') expect(r.manifest.spec.quotas[0]).toEqual({ resource: 'gpus', gpuModel: 'H100-80GB', guaranteed: 8, limit: 16, overQuotaWeight: 1, lendingLimit: null });
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

  const job = (spec: Record<string, unknown>) => parseManifest({ apiVersion: 'gpufleet.dev/v1', kind: 'Job', metadata: { name: 'j' }, spec: { command: ['true'], ...spec } });
  const paths = (r: ReturnType<typeof parseManifest>) => (r.ok ? [] : r.issues.map((i) => i.path).sort());

  it('accepts the scheduling fields of a job', () => {
    const r = job({
      gpus: 4, gpuModels: ['H100-80GB', 'A100-80GB'], cpus: 7.5, memory: '64Gi', replicas: 8, priorityClass: 'train',
      topology: { required: 'rack', preferred: 'nvlink-domain' }, timeLimit: '1h30m',
    });
    expect(r.ok).toBe(true);
    expect(job({ gpus: 0.5 }).ok).toBe(true);
    expect(job({ gpuMemory: '20Gi' }).ok).toBe(true);
    expect(job({ gpuMemory: 512, topology: { required: 'node' }, timeLimit: 600 }).ok).toBe(true);
  });

  it('names the field of every bad scheduling value', () => {
    expect(paths(job({ gpus: 1.5 }))).toEqual(['spec.gpus']);
    expect(paths(job({ gpus: 65 }))).toEqual(['spec.gpus']);
    expect(paths(job({ gpus: -0.5 }))).toEqual(['spec.gpus']);
    expect(paths(job({ gpus: 2, gpuMemory: '20Gi' }))).toEqual(['spec.gpuMemory']);
    expect(paths(job({ gpuMemory: '20GB' }))).toEqual(['spec.gpuMemory']);
    expect(paths(job({ gpuMemory: 0 }))).toEqual(['spec.gpuMemory']);
    expect(paths(job({ gpuModel: 'H100-80GB', gpuModels: ['H100-80GB'] }))).toEqual(['spec.gpuModels']);
    expect(paths(job({ gpuModels: [] }))).toEqual(['spec.gpuModels']);
    expect(paths(job({ cpus: -1 }))).toEqual(['spec.cpus']);
    expect(paths(job({ memory: 'lots' }))).toEqual(['spec.memory']);
    expect(paths(job({ replicas: 0 }))).toEqual(['spec.replicas']);
    expect(paths(job({ replicas: 1025 }))).toEqual(['spec.replicas']);
    expect(paths(job({ replicas: 2.5 }))).toEqual(['spec.replicas']);
    expect(paths(job({ priorityClass: 'urgent' }))).toEqual(['spec.priorityClass']);
    expect(paths(job({ preemptible: 'yes' }))).toEqual(['spec.preemptible']);
    expect(paths(job({ topology: { required: 'rack room' } }))).toEqual(['spec.topology.required']);
    expect(paths(job({ topology: { near: 'rack' } }))).toEqual(['spec.topology.near']);
    expect(paths(job({ timeLimit: 'soon' }))).toEqual(['spec.timeLimit']);
    expect(paths(job({ timeLimit: -5 }))).toEqual(['spec.timeLimit']);
  });

  it('resolves priority classes, with explicit values winning', () => {
    const spec = (extra: Record<string, unknown>) => jobSpecSchema.parse({ command: ['true'], ...extra });
    expect(resolveJobRequest(spec({}))).toMatchObject({ priority: 0, preemptible: true, priorityClass: null, replicas: 1 });
    expect(resolveJobRequest(spec({ priorityClass: 'inference' }))).toMatchObject({ priority: 400, preemptible: false });
    expect(resolveJobRequest(spec({ priorityClass: 'train' }))).toMatchObject({ priority: 300, preemptible: true });
    expect(resolveJobRequest(spec({ priorityClass: 'interactive' }))).toMatchObject({ priority: 200, preemptible: false });
    expect(resolveJobRequest(spec({ priorityClass: 'batch', priority: 7, preemptible: false }))).toMatchObject({ priority: 7, preemptible: false });
    expect(resolveJobRequest(spec({ gpus: 0.25, gpuModel: 'L4-24GB', memory: '2Gi', timeLimit: '2h' }))).toMatchObject({
      gpus: 0, gpuFraction: 0.25, gpuModels: ['L4-24GB'], memoryMiB: 2048, timeLimitSeconds: 7200,
    });
    expect(resolveJobRequest(spec({ gpuMemory: '20Gi' }))).toMatchObject({ gpus: 0, gpuFraction: null, gpuMemoryMiB: 20480 });
  });

  it('checks queue parents and quotas per resource', () => {
    const queue = (spec: Record<string, unknown>) => parseManifest({ apiVersion: 'gpufleet.dev/v1', kind: 'Queue', metadata: { name: 'q' }, spec: { team: 'ml', ...spec } });
    const ok = queue({ parent: 'org', quotas: [{ guaranteed: 4, lendingLimit: 2 }, { resource: 'cpus', guaranteed: 64 }, { resource: 'memory', guaranteed: 512, limit: 1024 }] });
    expect(ok.ok).toBe(true);
    if (ok.ok && ok.manifest.kind === 'Queue') expect(ok.manifest.spec.quotas[1]).toMatchObject({ resource: 'cpus', gpuModel: '*', lendingLimit: null });
    expect(paths(queue({ parent: 'Not A Name' }))).toEqual(['spec.parent']);
    expect(paths(queue({ quotas: [{ guaranteed: 2, lendingLimit: 3 }] }))).toEqual(['spec.quotas[0].lendingLimit']);
    expect(paths(queue({ quotas: [{ resource: 'cpus', gpuModel: 'H100-80GB' }] }))).toEqual(['spec.quotas[0].gpuModel']);
    expect(paths(queue({ quotas: [{ resource: 'disks' }] }))).toEqual(['spec.quotas[0].resource']);
    expect(paths(queue({ quotas: [{ resource: 'cpus' }, { resource: 'cpus' }] }))).toEqual(['spec.quotas[1].gpuModel']);
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
