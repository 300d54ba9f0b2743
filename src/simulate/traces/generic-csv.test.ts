import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGenericCsv } from './generic-csv.js';
import { writeFixtures } from '../../../test/support/trace-files.js';
import { TraceError } from './types.js';

const HEADER = 'submit_time,duration,gpus,gpu_fraction,gpu_models,cpu,memory,queue,user,priority,time_limit';

describe('loadGenericCsv', () => {
  it('parses every column exactly, from a gzipped file, in submission order', async () => {
    const dir = writeFixtures({
      'jobs.csv.gz': [HEADER, '30,600,0,0.25,T4|A10,500m,2048,research,ann,5,900', '10,3600.5,8,,,"4",65536,prod,,,'].join('\n'),
    });
    const { jobs, issues } = await loadGenericCsv(join(dir, 'jobs.csv.gz'), { badRows: 'reject' });
    expect(issues).toEqual([]);
    expect(jobs).toEqual([
      { id: 'line-3', line: 3, submitTime: 10, duration: 3600.5, gpus: 8, gpuFraction: null, gpuModels: null, cpuMilli: 4000, memoryMiB: 65536, queue: 'prod', user: null, priority: null, timeLimit: null },
      { id: 'line-2', line: 2, submitTime: 30, duration: 600, gpus: 0, gpuFraction: 0.25, gpuModels: ['T4', 'A10'], cpuMilli: 500, memoryMiB: 2048, queue: 'research', user: 'ann', priority: 5, timeLimit: 900 },
    ]);
  });

  it('needs only the required columns and takes ids from an id column', async () => {
    const dir = writeFixtures({ 'jobs.csv': 'id,submit_time,duration,gpus,queue\njob-a,0,1,1,q\n' });
    const { jobs } = await loadGenericCsv(join(dir, 'jobs.csv'), { badRows: 'reject' });
    expect(jobs.map((job) => [job.id, job.cpuMilli, job.gpuModels])).toEqual([['job-a', null, null]]);
  });

  const BAD = [
    HEADER,
    '0,60,1,,,,,q,,,', // line 2: good
    '0,abc,1,,,,,q,,,', // 3
    '-5,60,1.5,,,,,q,,,', // 4
    '0,60,1,0.5,,,,q,,,', // 5: fraction with whole GPUs
    '0,60,0,1.5,,2x,,,,,', // 6
    '0,60,1', // 7: short row
    '0,60,1,,T4||V100,,,q,,1.5,', // 8
    '0,60,2,,,,,q,,,', // 9: good
  ].join('\n');

  it('skips bad rows and reports each with its line number and every fault', async () => {
    const dir = writeFixtures({ 'jobs.csv': BAD });
    const { jobs, issues } = await loadGenericCsv(join(dir, 'jobs.csv'), { badRows: 'skip' });
    expect(jobs.map((job) => job.line)).toEqual([2, 9]);
    const file = join(dir, 'jobs.csv');
    expect(issues).toEqual([
      { file, line: 3, message: "duration must be a positive number, got 'abc'" },
      { file, line: 4, message: "submit_time must be a non-negative number, got '-5'; gpus must be a non-negative integer, got '1.5'" },
      { file, line: 5, message: 'gpu_fraction needs gpus=0 (a job takes either whole GPUs or a share of one), got gpus=1' },
      {
        file,
        line: 6,
        message:
          "gpu_fraction must be below 1 (a whole GPU is gpus=1), got '1.5'; cpu must be a positive number of cores (e.g. 4, 0.5) or whole millicores (e.g. 500m), got '2x'; queue is required",
      },
      { file, line: 7, message: 'expected 11 fields, got 3' },
      { file, line: 8, message: "gpu_models must be model names separated by '|', got 'T4||V100'; priority must be an integer, got '1.5'" },
    ]);
  });

  it('rejects with a TraceError naming file:line of each bad row', async () => {
    const dir = writeFixtures({ 'jobs.csv': BAD });
    const load = loadGenericCsv(join(dir, 'jobs.csv'), { badRows: 'reject' });
    await expect(load).rejects.toThrow(TraceError);
    const error = await loadGenericCsv(join(dir, 'jobs.csv'), { badRows: 'reject' }).catch((e: unknown) => e);
    expect((error as TraceError).issues.map((issue) => issue.line)).toEqual([3, 4, 5, 6, 7, 8]);
    expect((error as Error).message).toContain(`${join(dir, 'jobs.csv')}:3: duration must be a positive number, got 'abc'`);
  });

  it('reports a repeated id and an unknown column', async () => {
    const dir = writeFixtures({ 'dup.csv': 'id,submit_time,duration,gpus,queue\na,0,1,1,q\na,0,1,1,q\n', 'typo.csv': 'submit_time,duration,gpus,queue,gpu_fration\n' });
    const { issues } = await loadGenericCsv(join(dir, 'dup.csv'), { badRows: 'skip' });
    expect(issues).toEqual([{ file: join(dir, 'dup.csv'), line: 3, message: "id 'a' already used on line 2" }]);
    await expect(loadGenericCsv(join(dir, 'typo.csv'), { badRows: 'skip' })).rejects.toThrow(/typo\.csv:1: header: unknown column\(s\) gpu_fration/);
  });
});
