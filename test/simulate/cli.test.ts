import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import type { CliContext } from '../../src/cli/context.js';
import type { FillReport, ReplayReport } from '../../src/simulate/main.js';

/** `gpufleet simulate replay|fill` as a user runs them, on tiny traces with known answers. */
const dir = mkdtempSync(join(tmpdir(), 'gpufleet-simulate-cli-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

async function gpufleet(...args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    env: {},
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    now: () => 0,
    client: () => Promise.reject(new Error('simulate needs no server')),
    exitCode: 0,
  };
  await buildProgram(ctx).parseAsync(['node', 'gpufleet', ...args]);
  return { out, err };
}
const json = async <T>(...args: string[]): Promise<T> => JSON.parse((await gpufleet(...args, '-o', 'json')).out) as T;
const mean = (r: ReplayReport, policy: string) => r.runs.find((x) => x.policy === policy)!.metrics.jct.mean;

// One node of 4 GPUs; A(0 s, 4 GPUs, 10 s), B(1, 4, 5), C(2, 4, 1): one job at a time.
// FIFO (and gpufleet-default, one queue): A 0–10, B 10–15, C 15–16 → mean JCT 38/3; SJF runs C before B → 34/3.
const serial = file('serial.csv', 'id,submit_time,duration,gpus,queue\nA,0,10,4,q\nB,1,5,4,q\nC,2,1,4,q\n');
const oneNode = file('one-node.yaml', 'nodes:\n  - { name: n, gpus: 4, gpuModel: P100-16GB, cpus: 32, memory: 256Gi, labels: { rack: r1 } }\n');

describe('gpufleet simulate replay', () => {
  it('runs every policy asked for on the same trace: JSON with known JCTs', async () => {
    const r = await json<ReplayReport>('simulate', 'replay', '--trace', serial, '--cluster', oneNode, '--policy', 'fifo', '--policy', 'sjf', '--policy', 'gpufleet-default');
    expect(r.runs.map((x) => x.policy)).toEqual(['fifo', 'sjf', 'gpufleet-default']);
    expect(mean(r, 'fifo')).toBeCloseTo(38 / 3);
    expect(mean(r, 'sjf')).toBeCloseTo(34 / 3);
    expect(mean(r, 'gpufleet-default')).toBeCloseTo(38 / 3);
    expect(r.runs[0]!.metrics.makespan).toBe(16);
    expect(r.cluster).toMatchObject({ nodes: 1, gpus: 4, queues: ['q'] });
  });

  it('prints a table per policy and per queue, and draws utilization and queue length as SVG', async () => {
    const svg = join(dir, 'replay.svg');
    const { out } = await gpufleet('simulate', 'replay', '--trace', serial, '--cluster', oneNode, '--policy', 'fifo', '--policy', 'sjf', '--svg', svg);
    expect(out).toMatch(/^POLICY +JCT MEAN/m);
    expect(out).toMatch(/^fifo +12\.7s/m);
    expect(out).toMatch(/^sjf +11\.3s/m);
    expect(out).toMatch(/^QUEUE +POLICY +JOBS +SHARE +ENTITLED/m);
    const drawing = readFileSync(svg, 'utf8');
    expect(drawing).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(drawing).toContain('GPU allocation over time');
    expect(drawing).toContain('Queue length over time');
    expect(drawing.match(/<polyline class="series"/g)).toHaveLength(4);
  });

  // The server's queue file and scheduler settings: x and y each guaranteed 4 of 8 GPUs. x fills the
  // node at 0 with eight 1-GPU jobs of 100 s; y asks for 4 GPUs at 70 for 10 s. gpufleet-default
  // reclaims (x's jobs are past the 60 s minimum runtime): y's JCT 10 s. FIFO: y waits to 100, JCT 40 s.
  const reclaim = file('reclaim.csv', ['id,submit_time,duration,gpus,queue', ...Array.from({ length: 8 }, (_, i) => `x${i},0,100,1,x`), 'y,70,10,4,y', ''].join('\n'));
  const eight = file('eight.yaml', 'nodes:\n  - { name: n, gpus: 8, gpuModel: P100-16GB }\n');
  const queue = (name: string) => `apiVersion: gpufleet.dev/v1\nkind: Queue\nmetadata: { name: ${name} }\nspec:\n  team: t\n  quotas: [{ gpuModel: "*", guaranteed: 4 }]\n`;
  const queues = file('queues.yaml', `apiVersion: gpufleet.dev/v1\nkind: Team\nmetadata: { name: t }\n---\n${queue('x')}---\n${queue('y')}`);
  const yJct = (r: ReplayReport, policy: string) => r.runs.find((x) => x.policy === policy)!.metrics.perQueue['y']!.jct.mean;

  it('takes the queues as `gpufleet apply -f` does, and the scheduler settings as the server does', async () => {
    const r = await json<ReplayReport>('simulate', 'replay', '--trace', reclaim, '--cluster', eight, '--queues', queues, '--policy', 'gpufleet-default', '--policy', 'fifo');
    expect(yJct(r, 'gpufleet-default')).toBe(10);
    expect(yJct(r, 'fifo')).toBe(40);
    expect(r.runs[0]!.metrics.preemptions).toBe(4);
    expect(r.runs[0]!.metrics.perQueue['x']!.entitled).toBe(0.5);
    const patient = file('patient.yaml', 'minRuntimeMs: 200000\n');
    const p = await json<ReplayReport>('simulate', 'replay', '--trace', reclaim, '--cluster', eight, '--queues', queues, '--scheduler-config', patient, '--policy', 'gpufleet-default');
    expect(yJct(p, 'gpufleet-default')).toBe(40);
  });

  it('compresses arrivals to a target load and shrinks the cluster', async () => {
    // Work 1×10 + 2×20 = 50 GPU-s over a span of 100 s on 2 nodes × 2 GPUs: load 0.125; at 0.5 arrivals × 0.25.
    const two = file('two.yaml', 'nodes:\n  - { name: n, count: 2, gpus: 2, gpuModel: L4 }\n');
    const trace = file('load.csv', 'submit_time,duration,gpus,queue\n0,10,1,q\n100,20,2,q\n');
    const r = await json<ReplayReport>('simulate', 'replay', '--trace', trace, '--cluster', two, '--target-load', '0.5', '--policy', 'fifo');
    expect(r.compressionFactor).toBeCloseTo(0.25);
    expect(r.offeredLoad).toBeCloseTo(0.5);
    const half = await json<ReplayReport>('simulate', 'replay', '--trace', trace, '--cluster', two, '--shrink', '0.5', '--policy', 'fifo');
    expect(half.cluster).toMatchObject({ nodes: 1, gpus: 2 });
  });

  it('assumes declared time limits when asked, so gpufleet-default reserves for a blocked job', async () => {
    // One node of 4 GPUs: A(0 s, 2 GPUs, 100 s), B(1, 4, 10), C(2, 2, 200). Without limits C takes the
    // free half at 2 s and B waits for both: A 100, B 212 − 1, C 200 → 511/3. With limits B reserves
    // the node from 100 s, which C (ending at 202 s) would delay: B 100–110, C 110–310 → 517/3.
    const trace = file('limits.csv', 'id,submit_time,duration,gpus,queue\nA,0,100,2,q\nB,1,10,4,q\nC,2,200,2,q\n');
    const without = await json<ReplayReport>('simulate', 'replay', '--trace', trace, '--cluster', oneNode, '--policy', 'gpufleet-default');
    expect(without.declaredLimits).toBeNull();
    expect(mean(without, 'gpufleet-default')).toBeCloseTo(511 / 3);
    const withLimits = await json<ReplayReport>('simulate', 'replay', '--trace', trace, '--cluster', oneNode, '--policy', 'gpufleet-default', '--declared-limits', '1');
    expect(withLimits.declaredLimits).toEqual({ factor: 1, roundUpSeconds: 1 });
    expect(mean(withLimits, 'gpufleet-default')).toBeCloseTo(517 / 3);
    const table = await gpufleet('simulate', 'replay', '--trace', trace, '--cluster', oneNode, '--policy', 'gpufleet-default', '--declared-limits', '2:3600');
    expect(table.out).toContain('assumed: jobs without a time limit declare their runtime × 2, rounded up to 3600 s');
    await expect(gpufleet('simulate', 'replay', '--trace', trace, '--cluster', oneNode, '--declared-limits', '0.5')).rejects.toThrow(/--declared-limits: expected FACTOR/);
  });

  it('names what is wrong: a bad row with its line, a bad cluster field, an unknown policy', async () => {
    const bad = file('bad.csv', 'submit_time,duration,gpus,queue\n0,10,1,q\n5,abc,1,q\n');
    await expect(gpufleet('simulate', 'replay', '--trace', bad, '--cluster', oneNode, '--bad-rows', 'reject')).rejects.toThrow(/bad\.csv:3: duration/);
    const skipped = await gpufleet('simulate', 'replay', '--trace', bad, '--cluster', oneNode, '--policy', 'fifo');
    expect(skipped.err).toMatch(/1 bad trace row\(s\) skipped:\n {2}\S*bad\.csv:3: duration/);
    const noModel = file('no-model.yaml', 'nodes:\n  - { name: n, gpus: 4 }\n');
    await expect(gpufleet('simulate', 'replay', '--trace', serial, '--cluster', noModel)).rejects.toThrow(/nodes\[0\]\.gpuModel/);
    await expect(gpufleet('simulate', 'replay', '--trace', serial)).rejects.toThrow(/--cluster/);
    await expect(gpufleet('simulate', 'replay', '--trace', serial, '--cluster', oneNode, '--policy', 'lottery')).rejects.toThrow(/unknown replay policy lottery/);
  });
});

describe('gpufleet simulate fill', () => {
  // 2 nodes × 2 GPUs and pods of one whole GPU: 5 pods arrive (5 ≤ 130 % of 4 < 6), 4 are placed.
  // After 50 % arrived 2 GPUs are allocated (50 %); at 100 % and 130 %, all 4 (100 %). Every policy alike.
  const pods = file('pods.csv', 'id,submit_time,duration,gpus,queue\np,0,1,1,q\n');
  const two = file('two-nodes.yaml', 'nodes:\n  - { name: n, count: 2, gpus: 2, gpuModel: A10 }\n');
  it('fills with each policy and seed: known shares, a table, fill curves as SVG', async () => {
    const r = await json<FillReport>('simulate', 'fill', '--trace', pods, '--cluster', two, '--seed', '1', '--seed', '2');
    expect(r.runs.map((x) => x.policy)).toEqual(['gpufleet-default', 'random-fit', 'best-fit', 'gpu-packing', 'gpufleet-binpack', 'gpufleet-fragmentation']);
    expect(r.runs[0]!.placement).toBe('gpufleet-fragmentation');
    for (const run of r.runs) {
      for (const s of run.seeds) {
        expect([s.allocatedPct[50], s.allocatedPct[100], s.allocatedPct[130]]).toEqual([50, 100, 100]);
        expect([s.submitted, s.placed, s.unplaced]).toEqual([5, 4, 1]);
      }
    }
    const svg = join(dir, 'fill.svg');
    const { out } = await gpufleet('simulate', 'fill', '--trace', pods, '--cluster', two, '--seed', '1', '--policy', 'best-fit', '--policy', 'gpufleet-default', '--svg', svg);
    expect(out).toMatch(/^best-fit +best-fit +100\.00% +100\.00%/m);
    expect(readFileSync(svg, 'utf8').match(/<polyline class="series"/g)).toHaveLength(2);
  });
  it('gpufleet-default is the placement the scheduler settings make the default', async () => {
    const binpack = file('binpack.yaml', 'placement: { default: binpack }\n');
    const r = await json<FillReport>('simulate', 'fill', '--trace', pods, '--cluster', two, '--seed', '1', '--policy', 'gpufleet-default', '--scheduler-config', binpack);
    expect(r.runs[0]!.placement).toBe('gpufleet-binpack');
  });
});
