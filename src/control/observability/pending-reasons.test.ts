import { describe, expect, it } from 'vitest';
import { pendingReasonCategory } from './pending-reasons.js';

describe('pendingReasonCategory', () => {
  it.each([
    ['queue research would exceed its limit of 8 gpu/H100-80GB (8 in use, 2 asked)', 'quota_limit'],
    ['its queue q_123 no longer exists', 'quota_limit'],
    ['waiting for 2 stopping workload(s) to release what it needs', 'releasing'],
    ['waiting for 1 workload(s) preempted for it to stop', 'releasing'],
    ['waiting for consolidation: 2 workload(s) move to free whole nodes for it', 'releasing'],
    ['gang of 4 replicas × 8 GPUs of H100-80GB must start together; only 2 fit now', 'gang'],
    ['no node has 8 free H100-80GB GPUs (most free on one node: 4)', 'capacity'],
    ['no ready node has GPUs of model B200', 'capacity'],
    ['no H100-80GB GPU has 0.5 of a GPU free', 'capacity'],
    ['waiting for its turn', 'turn'],
    ['team research is over its budget (100 of 100 GPU-hours this week): only preemptible work runs', 'budget'],
    ['something the scheduler says one day', 'other'],
  ])('%s → %s', (reason, category) => {
    expect(pendingReasonCategory(reason, false)).toBe(category);
  });

  it('a workload no cycle has seen yet is new, and a restart delay beats any reason', () => {
    expect(pendingReasonCategory(null, false)).toBe('new');
    expect(pendingReasonCategory('waiting for its turn', true)).toBe('restart_backoff');
  });
});
