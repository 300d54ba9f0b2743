/**
 * Why a workload waits, as a bounded label for metrics. The scheduler writes its reasons for people
 * (with counts, models and node names in them); a Prometheus label must take few values, so the
 * first reason is sorted into one of these by the words the scheduler's explanations start with.
 */
export const pendingReasonCategories = ['new', 'restart_backoff', 'budget', 'quota_limit', 'releasing', 'reserved', 'gang', 'capacity', 'turn', 'other'] as const;
export type PendingReasonCategory = (typeof pendingReasonCategories)[number];

const patterns: Array<[RegExp, PendingReasonCategory]> = [
  [/is over its budget/, 'budget'],
  [/would exceed its limit|no longer exists/, 'quota_limit'],
  [/^waiting for (\d+ stopping|\d+ workload\(s\) (reclaimed|preempted)|consolidation)/, 'releasing'],
  [/^reserved:|resources reserved:/, 'reserved'],
  [/^gang of |room for all \d+ replicas/, 'gang'],
  [/^no (ready )?node|^no \S+ GPU has|cannot start as asked/, 'capacity'],
  [/^waiting for its turn|^gave its place/, 'turn'],
];

/** `reason` is the workload's first reason (null before any cycle saw it); `backingOff` a service replica sitting out its restart delay. */
export function pendingReasonCategory(reason: string | null, backingOff: boolean): PendingReasonCategory {
  if (backingOff) return 'restart_backoff';
  if (reason === null || reason === '') return 'new';
  for (const [pattern, category] of patterns) if (pattern.test(reason)) return category;
  return 'other';
}
