import { IllegalTransitionError } from './workload-state.js';

/**
 * A replica is one placement of a workload on a node: the unit an agent runs. `assigned` is what the
 * plan applier writes; the agent reports the rest. Replicas never return to an earlier state: a
 * requeued workload gets new replicas.
 */
export const replicaStates = ['assigned', 'running', 'stopping', 'succeeded', 'failed', 'stopped', 'lost'] as const;
export type ReplicaState = (typeof replicaStates)[number];

export const replicaTransitions: Readonly<Record<ReplicaState, readonly ReplicaState[]>> = {
  assigned: ['running', 'stopping', 'succeeded', 'failed', 'stopped', 'lost'],
  running: ['stopping', 'succeeded', 'failed', 'stopped', 'lost'],
  stopping: ['succeeded', 'failed', 'stopped', 'lost'],
  succeeded: [],
  failed: [],
  stopped: [],
  lost: [],
};

/** States in which a replica still holds its GPUs. */
export const activeReplicaStates: readonly ReplicaState[] = ['assigned', 'running', 'stopping'];

export function isActiveReplicaState(state: ReplicaState): boolean {
  return activeReplicaStates.includes(state);
}

export function canTransitionReplica(from: ReplicaState, to: ReplicaState): boolean {
  return from === to || replicaTransitions[from].includes(to);
}

export function assertReplicaTransition(from: ReplicaState, to: ReplicaState): void {
  if (!canTransitionReplica(from, to)) throw new IllegalTransitionError('replica', from, to);
}
