import { describe, expect, it } from 'vitest';
import type { GatewayReport, VersionCounters } from '../gateway-report.js';
import { SloMonitor, sloCounts, type MonitoredService } from './monitor.js';

const minute = 60_000;
const le = [0.1, 0.25, 0.5, 1];

/** One gateway's report with these cumulative counters for model chat, version v1. */
const report = (counters: VersionCounters, gateway = 'gw-1'): GatewayReport => ({ gateway, models: [{ model: 'chat', waiting: 0, versions: [{ version: 'v1', counters }] }] });

const chat: MonitoredService = { id: 's1', name: 'chat', model: 'chat', slo: { availability: 0.999, ttft: { thresholdMs: 500, target: 0.95 } } };

describe('sloCounts', () => {
  it('counts server errors against availability, and requests slower than the threshold against TTFT', () => {
    const d: VersionCounters = { requests: 100, errors: 3, ttft: { le, counts: [50, 80, 90, 98, 100] } };
    expect(sloCounts('availability', chat.slo, d)).toEqual({ good: 97, bad: 3 });
    // 90 requests within 0.5 s, 10 slower.
    expect(sloCounts('ttft', chat.slo, d)).toEqual({ good: 90, bad: 10 });
  });
});

describe('SloMonitor', () => {
  /** Cumulative counters after `minutes` minutes of 1,000 requests a minute, with errors and slow requests per minute as given. */
  function run(minutes: number, errorsIn: (m: number) => number, slowIn: (m: number) => number, restartAt?: number) {
    const monitor = new SloMonitor();
    let requests = 0;
    let errors = 0;
    let slow = 0;
    const transitions = [];
    for (let m = 0; m <= minutes; m++) {
      if (m === restartAt) [requests, errors, slow] = [0, 0, 0];
      const counters: VersionCounters = { requests, errors, ttft: { le, counts: [requests - slow, requests - slow, requests - slow, requests, requests] } };
      for (const t of monitor.observe(m * minute, [chat], [report(counters)]).transitions) transitions.push({ ...t, minute: m });
      requests += 1000;
      errors += errorsIn(m);
      slow += slowIn(m);
    }
    return transitions;
  }

  it('pages on an outage seen through the gateway’s counters, lists the objective, and resolves after it', () => {
    const t = run(4 * 60, (m) => (m >= 120 && m < 123 ? 1000 : 0), () => 0);
    expect(t.map((x) => [x.objective, x.severity, x.state])).toEqual([
      ['availability', 'page', 'firing'],
      ['availability', 'ticket', 'firing'],
      ['availability', 'page', 'resolved'],
      ['availability', 'ticket', 'resolved'],
    ]);
    expect(t[0]).toMatchObject({ service: 'chat', serviceId: 's1', target: 0.999, minute: 121 });
  });

  it('alerts on the TTFT objective when too many requests are slow, not on availability', () => {
    const t = run(3 * 60, () => 0, (m) => (m >= 60 ? 900 : 10));
    // The 6 h window passes 6× first (about 25 minutes in), the 1 h window 14.4× later.
    expect(t.filter((x) => x.state === 'firing').map((x) => [x.objective, x.severity])).toEqual([['ttft', 'ticket'], ['ttft', 'page']]);
  });

  it('keeps quiet across a gateway restart: counters going backwards count from zero, not as a burst', () => {
    expect(run(3 * 60, () => 1, () => 0, 90)).toEqual([]);
  });
});

describe('SloMonitor across leaders', () => {
  // 1,000 requests a minute; every one fails from minute 120 to 130.
  const errorsIn = (m: number) => (m >= 120 && m < 130 ? 1000 : 0);
  const countersAt = (m: number): VersionCounters => {
    let errors = 0;
    for (let k = 0; k < m; k++) errors += errorsIn(k);
    const requests = m * 1000;
    return { requests, errors, ttft: { le, counts: [requests, requests, requests, requests, requests] } };
  };
  function drive(monitor: SloMonitor, from: number, to: number) {
    const transitions = [];
    const buckets = [];
    for (let m = from; m <= to; m++) {
      const o = monitor.observe(m * minute, [chat], [report(countersAt(m))]);
      transitions.push(...o.transitions.map((t) => ({ ...t, minute: m })));
      buckets.push(...o.buckets);
    }
    return { transitions, buckets };
  }

  it('goes on from the stored history: the alerts an earlier leader raised are not raised again, and still resolve', () => {
    const first = drive(new SloMonitor(), 0, 125);
    const firing = first.transitions.filter((t) => t.state === 'firing').map((t) => ({ serviceId: t.serviceId, objective: t.objective, severity: t.severity }));
    expect(firing.map((f) => [f.objective, f.severity])).toEqual([
      ['availability', 'page'],
      ['availability', 'ticket'],
    ]);
    // The lead passes at minute 125; the next leader starts at 127 from what the first stored.
    const next = drive(new SloMonitor(undefined, { buckets: first.buckets, firing }), 127, 4 * 60);
    expect(next.transitions.map((t) => [t.severity, t.state])).toEqual([
      ['page', 'resolved'],
      ['ticket', 'resolved'],
    ]);
    // Without it, the next leader pages again for the same outage and never resolves the first page.
    const amnesic = drive(new SloMonitor(), 127, 4 * 60);
    expect(amnesic.transitions.filter((t) => t.state === 'firing').map((t) => t.minute)).toEqual([128, 128]);
  });
});
