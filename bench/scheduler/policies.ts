import { SchedulerCarry } from '../../src/scheduler/carry.js';
import { scheduleFifo } from '../../src/scheduler/fifo.js';
import { schedule } from '../../src/scheduler/schedule.js';
import { defaultSchedulerConfig } from '../../src/scheduler/types.js';
import type { Policy } from './measure.js';

/** Every policy the benchmark measures; a new one is one line here. */
export const policies: Record<string, Policy> = {
  fifo: scheduleFifo,
  // As the server's loop runs it: the fleet carried from one cycle to the next (src/scheduler/carry.ts).
  gpufleet: ((carry: SchedulerCarry): Policy => (snapshot, now) => schedule(snapshot, defaultSchedulerConfig, now, { carry }))(new SchedulerCarry()),
};

/** The reference every row's `baseline` comes from: the foundation's policy, measured in the same run. */
export const BASELINE_POLICY = 'fifo';
