import { join } from 'node:path';
import { readTable } from './csv.js';
import { FieldReader, IssueLog, bySubmitTime } from './fields.js';
import { wholeGpuJob, type QueueSpec, type TraceJob, type TraceLoad, type TraceLoadOptions } from './types.js';

export const PHILLY_JOBS_FILE = 'philly.csv.gz';
export const PHILLY_VC_FILE = 'philly_vc.csv';
/** philly_vc.csv counts nodes; the Helios simulation that published it gives each node 8 GPUs. */
export const PHILLY_GPUS_PER_NODE = 8;

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Seconds since the epoch, reading the zone-less timestamp as UTC: only differences matter. */
export function parsePhillyTimestamp(text: string): number | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  // Date.UTC rolls 2017-02-30 over to March; a round trip catches impossible dates.
  const valid = back.getUTCMonth() === month - 1 && back.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
  return valid ? ms / 1000 : null;
}

async function loadQueues(path: string, log: IssueLog): Promise<QueueSpec[]> {
  const queues: QueueSpec[] = [];
  for await (const row of readTable(path, { required: ['vc', 'node num'], optional: [], strict: false })) {
    if ('error' in row) {
      log.add(path, row.line, row.error);
      continue;
    }
    const r = new FieldReader(row.values);
    const name = r.requiredText('vc');
    const nodes = r.requiredNumber('node num', { rule: 'positive', integer: true });
    if (queues.some((queue) => queue.name === name)) r.fail(`vc ${name} is listed twice`);
    if (r.errors.length > 0) log.add(path, row.line, r.errors.join('; '));
    else queues.push({ name, gpus: nodes * PHILLY_GPUS_PER_NODE });
  }
  return queues;
}

/**
 * The Philly extract in `dir` (philly.csv.gz and philly_vc.csv). VCs become queues sized from
 * philly_vc.csv; a job of a VC that file does not size has nowhere to run and is a bad row.
 * Submit times count from the earliest accepted submission.
 */
export async function loadPhilly(dir: string, opts: TraceLoadOptions): Promise<TraceLoad> {
  const log = new IssueLog(opts.badRows);
  const queues = await loadQueues(join(dir, PHILLY_VC_FILE), log);
  const sized = new Set(queues.map((queue) => queue.name));
  const path = join(dir, PHILLY_JOBS_FILE);
  const jobs: TraceJob[] = [];
  const columns = { required: ['timestamp', 'duration', 'num_gpus', 'cluster'], optional: ['gpu_time'], strict: false };
  for await (const row of readTable(path, columns)) {
    if ('error' in row) {
      log.add(path, row.line, row.error);
      continue;
    }
    const r = new FieldReader(row.values);
    const stamp = r.requiredText('timestamp');
    const submitted = stamp === '' ? null : parsePhillyTimestamp(stamp);
    if (stamp !== '' && submitted === null) r.fail(`timestamp must be 'YYYY-MM-DD HH:MM:SS', got '${stamp}'`);
    const duration = r.requiredNumber('duration', { rule: 'positive' });
    const gpus = r.requiredNumber('num_gpus', { rule: 'positive', integer: true });
    const queue = r.requiredText('cluster');
    if (queue !== '' && !sized.has(queue)) r.fail(`VC ${queue} has no size in ${PHILLY_VC_FILE}`);
    if (r.errors.length > 0 || submitted === null) {
      log.add(path, row.line, r.errors.join('; '));
      continue;
    }
    jobs.push(wholeGpuJob({ id: `philly-${row.line}`, line: row.line, submitTime: submitted, duration, gpus, queue }));
  }
  const start = jobs.reduce((min, job) => Math.min(min, job.submitTime), Infinity);
  for (const job of jobs) job.submitTime -= start;
  return { jobs: bySubmitTime(jobs), queues, issues: log.finish() };
}
