/**
 * Multi-window, multi-burn-rate SLO alerts (the Google SRE workbook's recipe). Every SLO is a ratio
 * of good events: availability counts answers that were not server errors, a latency objective
 * (TTFT p95 ≤ 500 ms) counts requests under the threshold against a 95 % target. The burn rate
 * over a window is its bad share divided by the error budget (1 − target): at 1× the budget lasts
 * exactly the SLO period. An alert fires when both its long and its short window burn faster than
 * its factor: the long window proves the burn is significant, the short one that it is still going
 * on, so an alert resolves minutes after the trouble ends.
 */

export interface SloCounts {
  /** Start of the bucket, ms since the epoch; buckets do not overlap. */
  t: number;
  good: number;
  bad: number;
}

export interface BurnRule {
  severity: 'page' | 'ticket';
  longMs: number;
  shortMs: number;
  factor: number;
}

const minute = 60_000;
const hour = 60 * minute;

/** 14.4× over 1 h and 5 min spends 2 % of a 30-day budget in an hour; 6× over 6 h and 30 min spends 5 % in 6 hours. */
export const defaultBurnRules: readonly BurnRule[] = [
  { severity: 'page', longMs: hour, shortMs: 5 * minute, factor: 14.4 },
  { severity: 'ticket', longMs: 6 * hour, shortMs: 30 * minute, factor: 6 },
];

/** The bad share of the events in buckets starting in [now − windowMs, now), over the error budget; 0 without events. */
export function burnRate(buckets: readonly SloCounts[], target: number, now: number, windowMs: number): number {
  let good = 0;
  let bad = 0;
  for (const b of buckets) {
    if (b.t < now - windowMs || b.t >= now) continue;
    good += b.good;
    bad += b.bad;
  }
  const total = good + bad;
  if (total === 0) return 0;
  return bad / total / (1 - target);
}

export interface BurnEvaluation {
  rule: BurnRule;
  longBurn: number;
  shortBurn: number;
  firing: boolean;
}

export function evaluateBurn(buckets: readonly SloCounts[], target: number, now: number, rules: readonly BurnRule[] = defaultBurnRules): BurnEvaluation[] {
  return rules.map((rule) => {
    const longBurn = burnRate(buckets, target, now, rule.longMs);
    const shortBurn = burnRate(buckets, target, now, rule.shortMs);
    return { rule, longBurn, shortBurn, firing: longBurn > rule.factor && shortBurn > rule.factor };
  });
}

export interface AlertTransition {
  severity: BurnRule['severity'];
  state: 'firing' | 'resolved';
  at: number;
  longBurn: number;
  shortBurn: number;
}

/** Turns repeated evaluations into transitions: one `firing` when a rule starts to fire, one `resolved` when it stops. */
export class BurnAlertTracker {
  private readonly firing: Set<BurnRule['severity']>;

  /** `firing`: the alerts already raised (by an earlier leader), so they are not raised again. */
  constructor(firing: Iterable<BurnRule['severity']> = []) {
    this.firing = new Set(firing);
  }

  update(evaluations: readonly BurnEvaluation[], now: number): AlertTransition[] {
    const out: AlertTransition[] = [];
    for (const e of evaluations) {
      const was = this.firing.has(e.rule.severity);
      if (e.firing === was) continue;
      if (e.firing) this.firing.add(e.rule.severity);
      else this.firing.delete(e.rule.severity);
      out.push({ severity: e.rule.severity, state: e.firing ? 'firing' : 'resolved', at: now, longBurn: e.longBurn, shortBurn: e.shortBurn });
    }
    return out;
  }
}

export interface ChangeEvent {
  at: number;
  targetKind: string;
  targetId: string;
}

/** What an alert lists: the changes to its service, the service's nodes and its queue in the hour (`lookbackMs`) before it. */
export function changesBefore<E extends ChangeEvent>(
  events: readonly E[],
  scope: { serviceId: string; nodeIds: readonly string[]; queueId: string },
  at: number,
  lookbackMs = hour,
): E[] {
  const nodes = new Set(scope.nodeIds);
  return events
    .filter((e) => e.at >= at - lookbackMs && e.at <= at)
    .filter(
      (e) =>
        (e.targetKind === 'service' && e.targetId === scope.serviceId) ||
        (e.targetKind === 'node' && nodes.has(e.targetId)) ||
        (e.targetKind === 'queue' && e.targetId === scope.queueId),
    )
    .sort((a, b) => a.at - b.at);
}
