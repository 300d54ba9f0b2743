import { scheduleFifo } from '../../src/scheduler/fifo.js';
import { schedule } from '../../src/scheduler/schedule.js';
import { defaultSchedulerConfig } from '../../src/scheduler/types.js';
import type { Policy } from './measure.js';

/** Every policy the benchmark measures; a new one is one line here. */
export const policies: Record<string, Policy> = {
  fifo: scheduleFifo,
  gpufleet: (snapshot, now) => schedule(snapshot, defaultSchedulerConfig, now),
};

/** The reference every row's `baseline` comes from: the foundation's policy, measured in the same run. */
export const BASELINE_POLICY = 'fifo';
