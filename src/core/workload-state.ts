/**
 * The workload life cycle. `pending` may be re-entered (requeue) from admitted, running and
 * preempted: a requeue always bumps the workload's generation so a stale copy can be fenced.
 */
export const workloadStates = ['pending', 'admitted', 'running', 'succeeded', 'failed', 'cancelled', 'preempted'] as const;
export type WorkloadState = (typeof workloadStates)[number];

export const workloadTransitions: Readonly<Record<WorkloadState, readonly WorkloadState[]>> = {
  pending: ['admitted', 'cancelled', 'failed'],
  admitted: ['running', 'pending', 'succeeded', 'failed', 'cancelled', 'preempted'],
  running: ['succeeded', 'failed', 'cancelled', 'preempted', 'pending'],
  preempted: ['pending', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export const terminalWorkloadStates: readonly WorkloadState[] = ['succeeded', 'failed', 'cancelled'];

export function isTerminalWorkloadState(state: WorkloadState): boolean {
  return terminalWorkloadStates.includes(state);
}

export function canTransitionWorkload(from: WorkloadState, to: WorkloadState): boolean {
  return workloadTransitions[from].includes(to);
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly kind: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`${kind} cannot go from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function assertWorkloadTransition(from: WorkloadState, to: WorkloadState): void {
  if (!canTransitionWorkload(from, to)) throw new IllegalTransitionError('workload', from, to);
}
