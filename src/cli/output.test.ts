import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Node, Queue, Workload } from '../core/api-types.js';
import type { CliContext } from './context.js';
import { describeQuota, describeUsage, queueColumns } from './commands/get.js';
import { describeGpus, nodeColumns } from './commands/nodes.js';
import { describeRequest, workloadColumns } from './commands/ps.js';
import { renderExplanation } from './commands/explain.js';
import { formatAge, formatDuration, renderTable, writeList, type OutputFormat } from './output.js';

const now = Date.parse('2025-01-10T12:00:00Z');
const ago = (ms: number) => new Date(now - ms).toISOString();

function capture(): { ctx: CliContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const ctx = {
    env: {},
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    now: () => now,
    exitCode: 0,
    client: () => Promise.reject(new Error('no client in this test')),
  } satisfies CliContext;
  return { ctx, out: () => out, err: () => err };
}

const job: Workload = {
  id: 'j-0000000001',
  name: 'hello',
  team: 'ml',
  queue: 'research',
  kind: 'job',
  state: 'running',
  reason: null,
  reasons: [], gpuMemoryMiB: null, gpuModels: null, cpus: 0, memoryMiB: 0, replicas: 1, priorityClass: null, preemptible: true,
  topology: { required: null, preferred: null }, timeLimitSeconds: null, cluster: null, replicaStatus: [],
  gpus: 2,
  gpuModel: null,
  priority: 0,
  command: ['sh', '-c', 'sleep 1'],
  env: {},
  workdir: null,
  gracePeriodSeconds: 10,
  generation: 1,
  attempts: 1,
  exitCode: null,
  node: 'n-abcdefghij',
  gpuIndices: [0, 1],
  version: 3,
  createdAt: ago(125_000),
  admittedAt: ago(124_000),
  startedAt: ago(123_000),
  finishedAt: null,
};

describe('renderTable', () => {
  it('aligns columns under an upper-case header, with no borders or trailing spaces', () => {
    const table = renderTable(['name', 'state', 'age'], [
      ['hello', 'running', '5s'],
      ['a-much-longer-name', 'pending', '3m'],
    ]);
    expect(table).toBe(
      'NAME                 STATE     AGE\n' +
        'hello                running   5s\n' +
        'a-much-longer-name   pending   3m\n',
    );
  });

  it('drops the padding of an empty last cell', () => {
    expect(renderTable(['a', 'b'], [['x', '']])).toBe('A   B\nx\n');
  });
});

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [5_000, '5s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [3 * 60_000 + 59_000, '3m'],
    [2 * 3600_000, '2h'],
    [23 * 3600_000 + 59 * 60_000, '23h'],
    [4 * 86_400_000, '4d'],
  ])('%i ms ago is %s', (ms, expected) => {
    expect(formatAge(ago(ms), now)).toBe(expected);
  });

  it('shows - for no time and 0s for a clock that runs ahead', () => {
    expect(formatAge(null, now)).toBe('-');
    expect(formatAge(new Date(now + 5000).toISOString(), now)).toBe('0s');
  });
});

describe('formatDuration', () => {
  it.each([
    [400, '0.4s'],
    [1234, '1.2s'],
    [42_000, '42s'],
    [185_000, '3m05s'],
    [7_800_000, '2h10m'],
  ])('%i ms is %s', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});

describe('writeList', () => {
  const columns = workloadColumns(new Map([['n-abcdefghij', 'gpu-01']]), now);

  it('writes a table with node names resolved', () => {
    const { ctx, out } = capture();
    writeList(ctx, 'table', [job], columns, 'jobs');
    expect(out()).toBe('ID             NAME    TEAM   STATE     GPUS   NODE     AGE   REASON\nj-0000000001   hello   ml     running   2      gpu-01   2m    -\n');
  });

  it.each<[OutputFormat, (text: string) => unknown]>([
    ['json', JSON.parse],
    ['yaml', parse],
  ])('writes -o %s as the API objects', (format, read) => {
    const { ctx, out } = capture();
    writeList(ctx, format, [job], columns, 'jobs');
    expect(read(out())).toEqual([job]);
  });

  it('shows why a pending job waits in the REASON column, and what it asks for in GPUS', () => {
    const { ctx, out } = capture();
    const waiting: Workload = { ...job, state: 'pending', node: null, reason: 'queue research is over its limit', replicas: 4, gpus: 2, gpuModels: ['H100-80GB'], gpuModel: 'H100-80GB' };
    writeList(ctx, 'table', [waiting], columns, 'jobs');
    expect(out()).toContain('4×2xH100-80GB');
    expect(out().trimEnd().endsWith('queue research is over its limit')).toBe(true);
    expect(describeRequest({ ...job, gpus: 0.25 })).toBe('0.25');
    expect(describeRequest({ ...job, gpus: 0, gpuMemoryMiB: 20480 })).toBe('20Gi');
  });

  it('renders an explanation as ranked reasons', () => {
    expect(renderExplanation({ id: 'j-1', workload: 'big', state: 'pending', reasons: ['no node has 8 free GPUs', 'queue over limit'] })).toBe(
      'job/big is pending\n#   REASON\n1   no node has 8 free GPUs\n2   queue over limit\n',
    );
  });

  it('says so on stderr when there is nothing to list, keeping stdout empty', () => {
    const { ctx, out, err } = capture();
    writeList(ctx, 'table', [], columns, 'jobs');
    expect(out()).toBe('');
    expect(err()).toBe('No jobs found.\n');
  });
});

describe('node and queue cells', () => {
  const node: Node = {
    id: 'n-abcdefghij',
    name: 'gpu-01',
    state: 'ready',
    simulated: true,
    labels: {},
    plane: 'agent',
    gpus: [0, 1, 2].map((index) => ({ index, uuid: `GPU-${index}`, model: 'H100-80GB', memoryMiB: 81_920, allocatedTo: index === 0 ? 'r-1' : null })),
    cpus: 32,
    memoryMiB: 262_144,
    lastHeartbeatAt: ago(2000),
    agentVersion: '0.1.0',
    version: 1,
    createdAt: ago(86_400_000),
  };

  it('groups GPUs by model and marks simulated nodes', () => {
    expect(describeGpus([...node.gpus, { model: 'A100-40GB', memoryMiB: 40_960 }])).toBe('3x H100-80GB (80 GiB), 1x A100-40GB (40 GiB)');
    const cells = nodeColumns(now).map((c) => c.value(node));
    expect(cells).toEqual(['gpu-01', 'agent', 'ready (simulated)', '3x H100-80GB (80 GiB)', '1', '2', '2s ago']);
  });

  it('describes quotas and usage', () => {
    expect(describeQuota({ resource: 'gpus', gpuModel: 'H100-80GB', guaranteed: 8, limit: 16, overQuotaWeight: 1, lendingLimit: null })).toBe('H100-80GB: 8 guaranteed, limit 16');
    expect(describeQuota({ resource: 'gpus', gpuModel: '*', guaranteed: 0, limit: null, overQuotaWeight: 2, lendingLimit: null })).toBe('*: 0 guaranteed, no limit, weight 2');
    expect(describeQuota({ resource: 'memory', gpuModel: '*', guaranteed: 64, limit: null, overQuotaWeight: 1, lendingLimit: 32 })).toBe('memory GiB: 64 guaranteed, no limit, lends 32');
    expect(describeUsage({})).toBe('0');
    expect(describeUsage({ 'H100-80GB': 4, 'A100-40GB': 0 })).toBe('H100-80GB: 4');
    const queue: Queue = {
      id: 'q-1', name: 'research', team: 'ml', parent: null, priority: 5, version: 1, createdAt: ago(0), updatedAt: ago(0),
      quotas: [{ resource: 'gpus', gpuModel: 'H100-80GB', guaranteed: 8, limit: 16, overQuotaWeight: 1, lendingLimit: null }],
      usage: { 'H100-80GB': 4 },
    };
    expect(renderTable(queueColumns.map((c) => c.header), [queueColumns.map((c) => c.value(queue))])).toBe(
      'NAME       TEAM   PARENT   PRIORITY   QUOTAS                              IN USE\n' +
        'research   ml     -        5          H100-80GB: 8 guaranteed, limit 16   H100-80GB: 4\n',
    );
  });
});
