import { addCounters, emptyCounters, subtractCounters, type GatewayReport, type VersionCounters } from '../gateway-report.js';
import type { SloSpec } from '../service-types.js';
import { BurnAlertTracker, defaultBurnRules, evaluateBurn, type AlertTransition, type BurnRule, type SloCounts } from './burn-rate.js';

/**
 * Turns the gateways' cumulative counters (core/gateway-report.ts) into SLO event buckets per
 * service and objective, and those into burn-rate alert transitions. Called on a timer with the
 * latest report of every gateway; the first sight of a counter only sets its baseline, and a
 * counter that went backwards (a restarted gateway) counts from zero.
 */

export interface MonitoredService {
  id: string;
  name: string;
  model: string;
  slo: SloSpec;
}

export type SloObjective = 'availability' | 'ttft';

export interface SloTransition extends AlertTransition {
  serviceId: string;
  service: string;
  objective: SloObjective;
  target: number;
}

/** Good and bad events of one objective in a counters delta; a TTFT threshold between buckets counts the bucket below it as good. */
export function sloCounts(objective: SloObjective, slo: SloSpec, d: VersionCounters): { good: number; bad: number } {
  if (objective === 'availability') return { good: Math.max(0, d.requests - d.errors), bad: d.errors };
  const thresholdS = slo.ttft!.thresholdMs / 1000;
  const total = d.ttft.counts.at(-1) ?? 0;
  let good = 0;
  for (let i = 0; i < d.ttft.le.length; i++) if (d.ttft.le[i]! <= thresholdS) good = d.ttft.counts[i] ?? 0;
  return { good, bad: Math.max(0, total - good) };
}

/** One bucket of one service's objective, as kept in the database so that a new leader has the burn history. */
export interface StoredSloBucket extends SloCounts {
  serviceId: string;
  objective: SloObjective;
}

/** An alert whose last event is `alert.firing`. */
export interface FiringAlert {
  serviceId: string;
  objective: SloObjective;
  severity: BurnRule['severity'];
}

/** What a leader needs to go on where the last one stopped: buckets of the longest window, and the alerts firing. */
export interface SloHistory {
  buckets: readonly StoredSloBucket[];
  firing: readonly FiringAlert[];
}

export interface SloObservation {
  transitions: SloTransition[];
  /** The buckets this observation added, to be stored. */
  buckets: StoredSloBucket[];
}

/** How far back the burn history reaches: the longest window of the rules. */
export const historyMs = (rules: readonly BurnRule[] = defaultBurnRules): number => Math.max(...rules.map((r) => r.longMs));

const keyOf = (serviceId: string, objective: SloObjective) => `${serviceId}\u0000${objective}`;

export class SloMonitor {
  private readonly last = new Map<string, VersionCounters>();
  private readonly buckets = new Map<string, SloCounts[]>();
  private readonly trackers = new Map<string, BurnAlertTracker>();
  private lastAt: number | null = null;
  private readonly keepMs: number;

  /**
   * `history` continues an earlier leader's: a burn it was seeing goes on counting, and an alert it
   * raised is neither raised again nor forgotten. The gateways' counters start afresh (their first
   * sight sets the baseline), so the interval between the two leaders is not counted.
   */
  constructor(
    private readonly rules: readonly BurnRule[] = defaultBurnRules,
    history: SloHistory = { buckets: [], firing: [] },
  ) {
    this.keepMs = historyMs(rules);
    for (const b of [...history.buckets].sort((x, y) => x.t - y.t)) {
      const key = keyOf(b.serviceId, b.objective);
      this.buckets.set(key, [...(this.buckets.get(key) ?? []), { t: b.t, good: b.good, bad: b.bad }]);
    }
    const firing = new Map<string, FiringAlert['severity'][]>();
    for (const f of history.firing) firing.set(keyOf(f.serviceId, f.objective), [...(firing.get(keyOf(f.serviceId, f.objective)) ?? []), f.severity]);
    for (const [key, severities] of firing) this.trackers.set(key, new BurnAlertTracker(severities));
  }

  observe(now: number, services: readonly MonitoredService[], reports: readonly GatewayReport[]): SloObservation {
    const byModel = new Map<string, VersionCounters>();
    for (const report of reports)
      for (const m of report.models)
        for (const v of m.versions) {
          const key = `${report.gateway}\u0000${m.model}\u0000${v.version}`;
          const previous = this.last.get(key);
          this.last.set(key, v.counters);
          if (previous === undefined) continue;
          const delta = subtractCounters(v.counters, previous) ?? v.counters;
          byModel.set(m.model, addCounters(byModel.get(m.model) ?? emptyCounters(), delta));
        }
    const since = this.lastAt ?? now;
    this.lastAt = now;
    const out: SloTransition[] = [];
    const added: StoredSloBucket[] = [];
    for (const service of services) {
      const objectives: Array<[SloObjective, number]> = [];
      if (service.slo.availability !== undefined) objectives.push(['availability', service.slo.availability]);
      if (service.slo.ttft !== undefined) objectives.push(['ttft', service.slo.ttft.target]);
      const delta = byModel.get(service.model);
      for (const [objective, target] of objectives) {
        const key = keyOf(service.id, objective);
        const buckets = (this.buckets.get(key) ?? []).filter((b) => b.t >= now - this.keepMs);
        if (delta !== undefined) {
          const counts = sloCounts(objective, service.slo, delta);
          if (counts.good + counts.bad > 0) {
            buckets.push({ t: since, ...counts });
            added.push({ serviceId: service.id, objective, t: since, ...counts });
          }
        }
        this.buckets.set(key, buckets);
        let tracker = this.trackers.get(key);
        if (tracker === undefined) this.trackers.set(key, (tracker = new BurnAlertTracker()));
        for (const t of tracker.update(evaluateBurn(buckets, target, now, this.rules), now)) out.push({ ...t, serviceId: service.id, service: service.name, objective, target });
      }
    }
    return { transitions: out, buckets: added };
  }
}
