import { readTable } from './csv.js';
import { FieldReader, IssueLog, bySubmitTime } from './fields.js';
import type { TraceJob, TraceLoad, TraceLoadOptions } from './types.js';

export const GENERIC_COLUMNS = {
  required: ['submit_time', 'duration', 'gpus', 'queue'],
  optional: ['id', 'gpu_fraction', 'gpu_models', 'cpu', 'memory', 'user', 'priority', 'time_limit'],
  strict: true,
} as const;

const CPU = /^(\d+(?:\.\d+)?)(m?)$/;

/** `4` and `0.5` are cores, `500m` is millicores, as in Kubernetes resource quantities. */
function parseCpu(reader: FieldReader): number | null {
  const raw = reader.text('cpu');
  if (raw === null) return null;
  const match = CPU.exec(raw);
  const milli = match ? Number(match[1]) * (match[2] === 'm' ? 1 : 1000) : NaN;
  if (!Number.isInteger(milli) || milli <= 0) {
    reader.fail(`cpu must be a positive number of cores (e.g. 4, 0.5) or whole millicores (e.g. 500m), got '${raw}'`);
    return null;
  }
  return milli;
}

function parseGpuModels(reader: FieldReader): string[] | null {
  const raw = reader.text('gpu_models');
  if (raw === null) return null;
  const models = raw.split('|').map((model) => model.trim());
  if (models.some((model) => model === '')) {
    reader.fail(`gpu_models must be model names separated by '|', got '${raw}'`);
    return null;
  }
  return models;
}

function readJob(values: Record<string, string>, line: number): TraceJob | string[] {
  const r = new FieldReader(values);
  const submitTime = r.requiredNumber('submit_time', { rule: 'non-negative' });
  const duration = r.requiredNumber('duration', { rule: 'positive' });
  const gpus = r.requiredNumber('gpus', { rule: 'non-negative', integer: true });
  const gpuFraction = r.number('gpu_fraction', { rule: 'positive' });
  if (gpuFraction !== null && !(gpuFraction < 1)) r.fail(`gpu_fraction must be below 1 (a whole GPU is gpus=1), got '${r.text('gpu_fraction')}'`);
  if (gpuFraction !== null && gpus !== 0) r.fail(`gpu_fraction needs gpus=0 (a job takes either whole GPUs or a share of one), got gpus=${gpus}`);
  const job: TraceJob = {
    id: r.text('id') ?? `line-${line}`,
    line,
    submitTime,
    duration,
    gpus,
    gpuFraction,
    gpuModels: parseGpuModels(r),
    cpuMilli: parseCpu(r),
    memoryMiB: r.number('memory', { rule: 'positive' }),
    queue: r.requiredText('queue'),
    user: r.text('user'),
    priority: r.number('priority', { rule: 'any', integer: true }),
    timeLimit: r.number('time_limit', { rule: 'positive' }),
  };
  return r.errors.length > 0 ? r.errors : job;
}

/** The documented generic trace format (docs/simulate-traces.md). Times are not rebased: they already count from trace start. */
export async function loadGenericCsv(path: string, opts: TraceLoadOptions): Promise<TraceLoad> {
  const log = new IssueLog(opts.badRows);
  const jobs: TraceJob[] = [];
  const ids = new Map<string, number>();
  for await (const row of readTable(path, GENERIC_COLUMNS)) {
    if ('error' in row) {
      log.add(path, row.line, row.error);
      continue;
    }
    const job = readJob(row.values, row.line);
    if (Array.isArray(job)) {
      log.add(path, row.line, job.join('; '));
      continue;
    }
    const first = ids.get(job.id);
    if (first !== undefined) {
      log.add(path, row.line, `id '${job.id}' already used on line ${first}`);
      continue;
    }
    ids.set(job.id, row.line);
    jobs.push(job);
  }
  return { jobs: bySubmitTime(jobs), issues: log.finish() };
}
