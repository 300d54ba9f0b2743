export { loadGenericCsv } from './generic-csv.js';
export { loadPhilly } from './philly.js';
export { loadOpenB, type OpenBFiles } from './openb.js';
export {
  TraceError,
  formatIssue,
  wholeGpuJob,
  type BadRowPolicy,
  type ClusterNodeSpec,
  type ClusterSpec,
  type QueueSpec,
  type TraceIssue,
  type TraceJob,
  type TraceLoad,
  type TraceLoadOptions,
} from './types.js';
