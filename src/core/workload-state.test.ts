import { describe, expect, it } from 'vitest';
import { assertWorkloadTransition, canTransitionWorkload, IllegalTransitionError, terminalWorkloadStates, workloadStates, workloadTransitions } from './workload-state.js';
import { canTransitionReplica, replicaStates, replicaTransitions, activeReplicaStates } from './replica-state.js';
import { nodeStateForSilence } from './node-state.js';

describe('workload state machine', () => {
  it('allows the documented life cycle, with requeue', () => {
    const path = ['pending', 'admitted', 'running', 'pending', 'admitted', 'running', 'succeeded'] as const;
    for (let i = 1; i < path.length; i++) expect(canTransitionWorkload(path[i - 1]!, path[i]!)).toBe(true);
    expect(canTransitionWorkload('running', 'preempted')).toBe(true);
    expect(canTransitionWorkload('preempted', 'pending')).toBe(true);
  });

  it('never leaves a terminal state', () => {
    for (const from of terminalWorkloadStates) for (const to of workloadStates) expect(canTransitionWorkload(from, to)).toBe(false);
  });

  it('forbids skipping admission', () => {
    expect(canTransitionWorkload('pending', 'running')).toBe(false);
    expect(canTransitionWorkload('pending', 'succeeded')).toBe(false);
    expect(() => assertWorkloadTransition('succeeded', 'pending')).toThrow(IllegalTransitionError);
  });

  it('names only known states in its table', () => {
    for (const [from, tos] of Object.entries(workloadTransitions)) {
      expect(workloadStates).toContain(from);
      for (const to of tos) expect(workloadStates).toContain(to);
    }
  });
});

describe('replica state machine', () => {
  it('moves forward only', () => {
    expect(canTransitionReplica('assigned', 'running')).toBe(true);
    expect(canTransitionReplica('running', 'assigned')).toBe(false);
    expect(canTransitionReplica('succeeded', 'running')).toBe(false);
    for (const [from, tos] of Object.entries(replicaTransitions)) {
      expect(replicaStates).toContain(from);
      if (!activeReplicaStates.includes(from as never)) expect(tos).toEqual([]);
    }
  });
});

describe('node health', () => {
  const cfg = { suspectAfterMs: 10_000, lostAfterMs: 30_000 };
  it('goes ready → suspect → lost with silence, and stays lost', () => {
    expect(nodeStateForSilence('ready', 1_000, cfg)).toBe('ready');
    expect(nodeStateForSilence('ready', 10_000, cfg)).toBe('suspect');
    expect(nodeStateForSilence('suspect', 31_000, cfg)).toBe('lost');
    expect(nodeStateForSilence('lost', 0, cfg)).toBe('lost');
  });
  it('takes one step at a time: a ready node silent past both bounds goes suspect first, then lost', () => {
    expect(nodeStateForSilence('ready', 31_000, cfg)).toBe('suspect');
    expect(nodeStateForSilence('suspect', 31_000, cfg)).toBe('lost');
    expect(nodeStateForSilence('draining', 31_000, cfg)).toBe('lost');
  });
  it('keeps draining while suspect, and recovers a suspect that speaks again', () => {
    expect(nodeStateForSilence('draining', 12_000, cfg)).toBe('draining');
    expect(nodeStateForSilence('suspect', 500, cfg)).toBe('ready');
  });
});
