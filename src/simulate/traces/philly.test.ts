import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPhilly, parsePhillyTimestamp } from './philly.js';
import { writeFixtures } from '../../../test/support/trace-files.js';
import { TraceError } from './types.js';

const VCS = 'vc,node num\naaa111,2\nbbb222,1\n';
const JOBS = [
  'timestamp,duration,num_gpus,gpu_time,cluster',
  '2017-10-01 00:01:40,66.0,1,66.0,aaa111', // 2
  '2017-10-01 00:00:00,3600.0,8,28800.0,bbb222', // 3: earliest, trace start
  '2017-10-01 00:00:10,10.0,1,10.0,zzz999', // 4: VC without a size
  '2017-13-01 00:00:00,0.0,2,0.0,aaa111', // 5
  '2017-10-01 00:00:00,5.0,,5.0,aaa111', // 6
  '', // 7: blank, dropped
  '2017-10-02 00:00:00,1.0,4,4.0,aaa111', // 8
].join('\n');

describe('loadPhilly', () => {
  it('turns VCs into queues of 8 GPUs per node and rebases submit times on the earliest job', async () => {
    const dir = writeFixtures({ 'philly.csv.gz': JOBS, 'philly_vc.csv': VCS });
    const { jobs, queues, issues } = await loadPhilly(dir, { badRows: 'skip' });
    expect(queues).toEqual([
      { name: 'aaa111', gpus: 16 },
      { name: 'bbb222', gpus: 8 },
    ]);
    const base = { gpuFraction: null, gpuModels: null, cpuMilli: null, memoryMiB: null, user: null, priority: null, timeLimit: null };
    expect(jobs).toEqual([
      { ...base, id: 'philly-3', line: 3, submitTime: 0, duration: 3600, gpus: 8, queue: 'bbb222' },
      { ...base, id: 'philly-2', line: 2, submitTime: 100, duration: 66, gpus: 1, queue: 'aaa111' },
      { ...base, id: 'philly-8', line: 8, submitTime: 86400, duration: 1, gpus: 4, queue: 'aaa111' },
    ]);
    const file = join(dir, 'philly.csv.gz');
    expect(issues).toEqual([
      { file, line: 4, message: 'VC zzz999 has no size in philly_vc.csv' },
      { file, line: 5, message: "timestamp must be 'YYYY-MM-DD HH:MM:SS', got '2017-13-01 00:00:00'; duration must be a positive number, got '0.0'" },
      { file, line: 6, message: 'num_gpus is required (a positive integer)' },
    ]);
  });

  it('rejects with a TraceError naming file:line, including bad rows of philly_vc.csv', async () => {
    const dir = writeFixtures({ 'philly.csv.gz': JOBS, 'philly_vc.csv': 'vc,node num\naaa111,2\nbbb222,x\n' });
    const error = (await loadPhilly(dir, { badRows: 'reject' }).catch((e: unknown) => e)) as TraceError;
    expect(error).toBeInstanceOf(TraceError);
    expect(error.issues.map((issue) => `${issue.file.slice(dir.length + 1)}:${issue.line}`)).toEqual([
      'philly_vc.csv:3',
      'philly.csv.gz:3',
      'philly.csv.gz:4',
      'philly.csv.gz:5',
      'philly.csv.gz:6',
    ]);
    expect(error.message).toContain(`${join(dir, 'philly_vc.csv')}:3: node num must be a positive integer, got 'x'`);
  });

  it('parses timestamps as UTC and refuses impossible dates', () => {
    expect(parsePhillyTimestamp('2017-09-04 10:30:41')).toBe(Date.UTC(2017, 8, 4, 10, 30, 41) / 1000);
    expect(parsePhillyTimestamp('2017-02-30 00:00:00')).toBeNull();
    expect(parsePhillyTimestamp('2017-09-04T10:30:41')).toBeNull();
  });
});
