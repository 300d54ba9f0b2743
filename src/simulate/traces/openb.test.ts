import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOpenB } from './openb.js';
import { writeFixtures } from '../../../test/support/trace-files.js';
import { TraceError } from './types.js';

const NODES = ['sn,cpu_milli,memory_mib,gpu,model', 'n0,32000,262144,0,', 'n1,96000,786432,8,G2', 'n2,64000,262144,2,', 'n1,1,1,1,T4'].join('\n');
const PODS = [
  'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time',
  'p0,12000,16384,1,1000,,LS,Running,100,1100,100', // 2
  'p1,6000,12288,1,460,V100M16|V100M32,BE,Pending,50,80,', // 3: never scheduled: runs its lifetime
  'p2,88000,327680,8,1000,G2,Burstable,Succeeded,0,500,20', // 4
  'p3,8000,30517,0,0,,LS,Running,10,20,10', // 5: CPU only
  'p4,1000,2048,2,500,,BE,Failed,0,10,0', // 6: bad share
  'p5,1000,2048,1,0,,BE,Failed,0,10,0', // 7
  'p6,1000,2048,1,300,,BE,Failed,30,10,30', // 8: deleted before scheduled
  'p0,1,1,0,0,,LS,Running,0,1,0', // 9: duplicate name
].join('\n');

describe('loadOpenB', () => {
  it('reads pods: fractions, model constraints, CPU, memory, times', async () => {
    const dir = writeFixtures({ 'pods.csv.gz': PODS });
    const { jobs, cluster, issues } = await loadOpenB({ podList: join(dir, 'pods.csv.gz') }, { badRows: 'skip' });
    expect(cluster).toBeUndefined();
    const base = { user: null, priority: null, timeLimit: null };
    expect(jobs).toEqual([
      { ...base, id: 'p2', line: 4, submitTime: 0, duration: 480, gpus: 8, gpuFraction: null, gpuModels: ['G2'], cpuMilli: 88000, memoryMiB: 327680, queue: 'Burstable' },
      { ...base, id: 'p3', line: 5, submitTime: 10, duration: 10, gpus: 0, gpuFraction: null, gpuModels: null, cpuMilli: 8000, memoryMiB: 30517, queue: 'LS' },
      { ...base, id: 'p1', line: 3, submitTime: 50, duration: 30, gpus: 0, gpuFraction: 0.46, gpuModels: ['V100M16', 'V100M32'], cpuMilli: 6000, memoryMiB: 12288, queue: 'BE' },
      { ...base, id: 'p0', line: 2, submitTime: 100, duration: 1000, gpus: 1, gpuFraction: null, gpuModels: null, cpuMilli: 12000, memoryMiB: 16384, queue: 'LS' },
    ]);
    const file = join(dir, 'pods.csv.gz');
    expect(issues).toEqual([
      { file, line: 6, message: 'gpu_milli must be 1000 when num_gpu > 1 (GPUs are shared only singly), got 500' },
      { file, line: 7, message: 'gpu_milli must be 1..1000 when num_gpu is 1, got 0' },
      { file, line: 8, message: 'deletion_time 10 is before scheduled_time 30' },
      { file, line: 9, message: 'pod name p0 already used on line 2' },
    ]);
  });

  it('reads a pod list without times or qos (the sampled lists) as never-ending pods submitted at 0', async () => {
    const dir = writeFixtures({ 'pods.csv': 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\nb,1000,2048,1,320\na,4000,8192,2,1000\n' });
    const { jobs } = await loadOpenB({ podList: join(dir, 'pods.csv') }, { badRows: 'reject' });
    expect(jobs.map((job) => [job.id, job.submitTime, job.duration, job.gpus, job.gpuFraction, job.queue])).toEqual([
      ['b', 0, Infinity, 0, 0.32, 'default'],
      ['a', 0, Infinity, 2, null, 'default'],
    ]);
  });

  it('builds a cluster from the node list and reports bad nodes', async () => {
    const dir = writeFixtures({ 'nodes.csv.gz': NODES });
    const { jobs, cluster, issues } = await loadOpenB({ nodeList: join(dir, 'nodes.csv.gz') }, { badRows: 'skip' });
    expect(jobs).toEqual([]);
    expect(cluster).toEqual({
      nodes: [
        { name: 'n0', gpus: 0, gpuModel: null, cpuMilli: 32000, memoryMiB: 262144, labels: {} },
        { name: 'n1', gpus: 8, gpuModel: 'G2', cpuMilli: 96000, memoryMiB: 786432, labels: {} },
      ],
    });
    const file = join(dir, 'nodes.csv.gz');
    expect(issues).toEqual([
      { file, line: 4, message: 'model is required on a node with 2 GPU(s)' },
      { file, line: 5, message: 'node n1 already listed on line 3' },
    ]);
  });

  it('rejects with a TraceError naming file:line across both files', async () => {
    const dir = writeFixtures({ 'nodes.csv.gz': NODES, 'pods.csv.gz': PODS });
    const files = { nodeList: join(dir, 'nodes.csv.gz'), podList: join(dir, 'pods.csv.gz') };
    const error = (await loadOpenB(files, { badRows: 'reject' }).catch((e: unknown) => e)) as TraceError;
    expect(error).toBeInstanceOf(TraceError);
    expect(error.issues.map((issue) => `${issue.file.slice(dir.length + 1)}:${issue.line}`)).toEqual([
      'nodes.csv.gz:4',
      'nodes.csv.gz:5',
      'pods.csv.gz:6',
      'pods.csv.gz:7',
      'pods.csv.gz:8',
      'pods.csv.gz:9',
    ]);
    expect(error.message).toContain(`${files.nodeList}:4: model is required`);
  });
});
