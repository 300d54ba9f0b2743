import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSchedulerConfig } from '../scheduler/types.js';
import { parseSchedulerSettings } from '../scheduler/settings.js';
import { loadSchedulerSettings } from './scheduler-config.js';

describe('scheduler config', () => {
  it('defaults everything', async () => {
    expect(parseSchedulerSettings(null)).toEqual({ scheduler: defaultSchedulerConfig, fairShareHalfLifeMs: 86_400_000 });
    expect(await loadSchedulerSettings(undefined)).toEqual({ scheduler: defaultSchedulerConfig, fairShareHalfLifeMs: 86_400_000 });
  });

  it('reads a YAML file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gpufleet-sched-')), 'scheduler.yaml');
    writeFileSync(file, 'minRuntimeMs: 0\nconsolidation: propose\nplacement:\n  pools: {inference: spread}\nfairShareHalfLife: 2h\n');
    const s = await loadSchedulerSettings(file);
    expect(s.scheduler).toMatchObject({ minRuntimeMs: 0, consolidation: 'propose', placement: { default: 'fragmentation', pools: { inference: 'spread' } } });
    expect(s.fairShareHalfLifeMs).toBe(7_200_000);
  });

  it('names a bad field', () => {
    expect(() => parseSchedulerSettings({ consolidation: 'maybe' })).toThrow(/consolidation/);
    expect(() => parseSchedulerSettings({ minRuntime: 5 })).toThrow(/minRuntime/);
    expect(() => parseSchedulerSettings({ fairShareHalfLife: 'soon' })).toThrow(/fairShareHalfLife/);
    expect(() => parseSchedulerSettings({ overtakeAfterMs: -1 })).toThrow(/overtakeAfterMs/);
    expect(parseSchedulerSettings({ overtakeAfterMs: 57_600_000 }).scheduler.overtakeAfterMs).toBe(57_600_000);
    expect(parseSchedulerSettings(null).scheduler.overtakeAfterMs).toBeNull();
  });
});
