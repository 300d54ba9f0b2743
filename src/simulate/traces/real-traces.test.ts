import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadOpenB, loadPhilly } from './index.js';
import { TraceError } from './types.js';

// src/simulate/traces → repository root; the traces live beside the checkout, in ../shared.
const repoRoot = join(import.meta.dirname, '..', '..', '..');
const traces = join(repoRoot, '..', 'shared', 'data', 'traces');
const openbDir = join(traces, 'alibaba-openb-2023');

// The expected numbers were counted from the files with zcat, awk, sort and uniq (docs/simulate-traces.md).
describe('real traces in ../shared/data/traces', () => {
  beforeAll(() => {
    // A missing folder must fail loudly: skipping would let the adapters drift from the real data unseen.
    if (!existsSync(traces)) throw new Error(`trace folder ${traces} is missing: these tests need the shared data checkout`);
  });

  it('loads the whole Philly extract: 82,247 rows, the 18 jobs of unsized VCs reported', async () => {
    const started = performance.now();
    const { jobs, queues, issues } = await loadPhilly(join(traces, 'philly'), { badRows: 'skip' });
    console.log(`Philly: ${jobs.length} jobs in ${Math.round(performance.now() - started)} ms`);
    expect(jobs).toHaveLength(82_229);
    expect(jobs.reduce((sum, job) => sum + job.duration, 0)).toBe(1_080_243_516);
    expect(jobs.reduce((sum, job) => sum + job.gpus, 0)).toBe(107_161);
    expect(jobs.filter((job) => job.queue === '6214e9')).toHaveLength(41_226);
    expect(jobs[0]?.submitTime).toBe(0);
    // 2017-09-04 10:30:41 .. 2017-12-22 08:02:11
    expect(jobs.at(-1)?.submitTime).toBe(9_408_690);
    expect(queues).toHaveLength(11);
    expect(queues?.reduce((sum, queue) => sum + queue.gpus, 0)).toBe(2_816);
    expect(issues).toHaveLength(18);
    expect(new Set(issues.map((issue) => issue.message.split(' ')[1]))).toEqual(new Set(['23dbec', '51b7ef', '925e2b', '795a4c']));
    expect(issues[0]).toMatchObject({ line: 19_016, message: 'VC 51b7ef has no size in philly_vc.csv' });
  });

  it('rejects the Philly extract under reject, naming the unsized-VC rows', async () => {
    const error = await loadPhilly(join(traces, 'philly'), { badRows: 'reject' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceError);
    expect((error as TraceError).message).toContain('philly.csv.gz:19016: VC 51b7ef has no size');
  });

  it('loads OpenB default pods and the all-node cluster without a bad row', async () => {
    const started = performance.now();
    const { jobs, cluster } = await loadOpenB(
      { nodeList: join(openbDir, 'openb_node_list_all_node.csv.gz'), podList: join(openbDir, 'openb_pod_list_default.csv.gz') },
      { badRows: 'reject' },
    );
    console.log(`OpenB: ${jobs.length} pods, ${cluster?.nodes.length} nodes in ${Math.round(performance.now() - started)} ms`);
    expect(jobs).toHaveLength(8_152);
    expect(jobs.filter((job) => job.gpuFraction !== null)).toHaveLength(3_078);
    expect(jobs.filter((job) => job.gpus === 0 && job.gpuFraction === null)).toHaveLength(1_088);
    expect(jobs.filter((job) => job.gpus === 8)).toHaveLength(44);
    expect(jobs.reduce((sum, job) => sum + job.cpuMilli!, 0)).toBe(85_436_012);
    expect(jobs.reduce((sum, job) => sum + job.duration, 0)).toBe(210_197_755);
    expect(Math.round(jobs.reduce((sum, job) => sum + (job.gpuFraction ?? 0) * 1000, 0))).toBe(5_642_800 - 3_911_000);
    expect(cluster?.nodes).toHaveLength(1_523);
    expect(cluster?.nodes.reduce((sum, node) => sum + node.gpus, 0)).toBe(6_212);
    expect(cluster?.nodes.filter((node) => node.gpuModel === 'G2')).toHaveLength(549);
    expect(cluster?.nodes.filter((node) => node.gpus === 0)).toHaveLength(310);
  });

  it('loads the OpenB GPU-node list: 1,213 nodes', async () => {
    const { cluster } = await loadOpenB({ nodeList: join(openbDir, 'openb_node_list_gpu_node.csv.gz') }, { badRows: 'reject' });
    expect(cluster?.nodes).toHaveLength(1_213);
    expect(cluster?.nodes.reduce((sum, node) => sum + node.memoryMiB, 0)).toBe(503_828_480);
  });
});
