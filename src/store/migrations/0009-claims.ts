/**
 * A workload that other work was stopped for keeps its claim on the room that work frees after the
 * work has gone and been requeued, until it starts: the scheduler places it first (docs/scheduler.md,
 * "Priority, preemption and reclaim"). Without it, whoever came first in the next cycle's order took
 * the room, and the workload stopped more work elsewhere.
 */
export const name = 'claims';

export const sql = `
alter table workloads add column claimed_at timestamptz;
`;
