import { readTable } from './csv.js';
import { FieldReader, IssueLog, bySubmitTime } from './fields.js';
import type { ClusterNodeSpec, ClusterSpec, TraceJob, TraceLoad, TraceLoadOptions } from './types.js';

/** Thousandths of one GPU in `gpu_milli`. */
const WHOLE_GPU_MILLI = 1000;
/** Pod lists without a qos column (the sampled multigpu* lists) put every pod here. */
export const OPENB_DEFAULT_QUEUE = 'default';

const POD_COLUMNS = {
  required: ['name', 'cpu_milli', 'memory_mib', 'num_gpu', 'gpu_milli'],
  optional: ['gpu_spec', 'qos', 'pod_phase', 'creation_time', 'deletion_time', 'scheduled_time'],
  strict: false,
};
const NODE_COLUMNS = { required: ['sn', 'cpu_milli', 'memory_mib', 'gpu', 'model'], optional: [], strict: false };

function readGpuShare(r: FieldReader): Pick<TraceJob, 'gpus' | 'gpuFraction'> {
  const count = r.requiredNumber('num_gpu', { rule: 'non-negative', integer: true });
  const milli = r.requiredNumber('gpu_milli', { rule: 'non-negative', integer: true });
  if (count === 0 && milli !== 0) r.fail(`gpu_milli must be 0 when num_gpu is 0, got ${milli}`);
  if (count === 1 && (milli === 0 || milli > WHOLE_GPU_MILLI)) r.fail(`gpu_milli must be 1..1000 when num_gpu is 1, got ${milli}`);
  if (count > 1 && milli !== WHOLE_GPU_MILLI) r.fail(`gpu_milli must be 1000 when num_gpu > 1 (GPUs are shared only singly), got ${milli}`);
  return count === 1 && milli < WHOLE_GPU_MILLI ? { gpus: 0, gpuFraction: milli / WHOLE_GPU_MILLI } : { gpus: count, gpuFraction: null };
}

function readGpuModels(r: FieldReader): string[] | null {
  const raw = r.text('gpu_spec');
  if (raw === null) return null;
  const models = raw.split('|').map((model) => model.trim());
  if (models.some((model) => model === '')) r.fail(`gpu_spec must be models separated by '|', got '${raw}'`);
  return models;
}

/**
 * Submission is creation; the run time is deletion minus scheduling, or minus creation for a pod
 * never scheduled (its whole life, the only length the trace gives it). Lists without timestamps
 * submit every pod at 0 in file order and never end them, as in the paper's protocol.
 */
function readTimes(r: FieldReader, values: Record<string, string>): Pick<TraceJob, 'submitTime' | 'duration'> {
  if (!('creation_time' in values)) return { submitTime: 0, duration: Infinity };
  const created = r.requiredNumber('creation_time', { rule: 'non-negative' });
  const deleted = r.requiredNumber('deletion_time', { rule: 'non-negative' });
  const scheduled = r.number('scheduled_time', { rule: 'non-negative' });
  const from = scheduled ?? created;
  if (scheduled !== null && scheduled < created) r.fail(`scheduled_time ${scheduled} is before creation_time ${created}`);
  if (deleted < from) r.fail(`deletion_time ${deleted} is before ${scheduled === null ? 'creation_time' : 'scheduled_time'} ${from}`);
  return { submitTime: created, duration: deleted - from };
}

async function loadPods(path: string, log: IssueLog): Promise<TraceJob[]> {
  const jobs: TraceJob[] = [];
  const names = new Map<string, number>();
  for await (const row of readTable(path, POD_COLUMNS)) {
    if ('error' in row) {
      log.add(path, row.line, row.error);
      continue;
    }
    const r = new FieldReader(row.values);
    const id = r.requiredText('name');
    const first = names.get(id);
    if (first !== undefined) r.fail(`pod name ${id} already used on line ${first}`);
    const job: TraceJob = {
      id,
      line: row.line,
      ...readTimes(r, row.values),
      ...readGpuShare(r),
      gpuModels: readGpuModels(r),
      cpuMilli: r.requiredNumber('cpu_milli', { rule: 'non-negative', integer: true }),
      memoryMiB: r.requiredNumber('memory_mib', { rule: 'non-negative' }),
      queue: r.text('qos') ?? OPENB_DEFAULT_QUEUE,
      user: null,
      priority: null,
      timeLimit: null,
    };
    if (r.errors.length > 0) {
      log.add(path, row.line, r.errors.join('; '));
      continue;
    }
    names.set(id, row.line);
    jobs.push(job);
  }
  return bySubmitTime(jobs);
}

async function loadNodes(path: string, log: IssueLog): Promise<ClusterSpec> {
  const nodes: ClusterNodeSpec[] = [];
  const names = new Map<string, number>();
  for await (const row of readTable(path, NODE_COLUMNS)) {
    if ('error' in row) {
      log.add(path, row.line, row.error);
      continue;
    }
    const r = new FieldReader(row.values);
    const name = r.requiredText('sn');
    const first = names.get(name);
    if (first !== undefined) r.fail(`node ${name} already listed on line ${first}`);
    const gpus = r.requiredNumber('gpu', { rule: 'non-negative', integer: true });
    const model = r.text('model');
    if (gpus > 0 && model === null) r.fail(`model is required on a node with ${gpus} GPU(s)`);
    const node: ClusterNodeSpec = {
      name,
      gpus,
      // CPU-only nodes have an empty model; a model on a node without GPUs would mean nothing.
      gpuModel: gpus > 0 ? model : null,
      cpuMilli: r.requiredNumber('cpu_milli', { rule: 'positive', integer: true }),
      memoryMiB: r.requiredNumber('memory_mib', { rule: 'positive' }),
      labels: {},
    };
    if (r.errors.length > 0) {
      log.add(path, row.line, r.errors.join('; '));
      continue;
    }
    names.set(name, row.line);
    nodes.push(node);
  }
  return { nodes };
}

export interface OpenBFiles {
  /** openb_node_list_*.csv(.gz): becomes the cluster. */
  nodeList?: string;
  /** openb_pod_list_*.csv(.gz): becomes the jobs. */
  podList?: string;
}

/** The Alibaba OpenB trace: any node list and any pod list of that format, either or both. */
export async function loadOpenB(files: OpenBFiles, opts: TraceLoadOptions): Promise<TraceLoad> {
  const log = new IssueLog(opts.badRows);
  const cluster = files.nodeList === undefined ? undefined : await loadNodes(files.nodeList, log);
  const jobs = files.podList === undefined ? [] : await loadPods(files.podList, log);
  const issues = log.finish();
  return cluster === undefined ? { jobs, issues } : { jobs, cluster, issues };
}
