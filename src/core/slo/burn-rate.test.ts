import { describe, expect, it } from 'vitest';
import { BurnAlertTracker, burnRate, changesBefore, evaluateBurn, type AlertTransition, type SloCounts } from './burn-rate.js';

const minute = 60_000;
const hour = 60 * minute;

/** A synthetic stream: 1,000 requests a minute, with the error share `errorShare(m)` in minute m. */
function stream(minutes: number, errorShare: (m: number) => number): SloCounts[] {
  return Array.from({ length: minutes }, (_, m) => {
    const bad = Math.round(1000 * errorShare(m));
    return { t: m * minute, good: 1000 - bad, bad };
  });
}

/** Evaluates every minute, as the server would, and returns the transitions with the minute they happened. */
function replay(buckets: SloCounts[], target: number): Array<AlertTransition & { minute: number }> {
  const tracker = new BurnAlertTracker();
  const out: Array<AlertTransition & { minute: number }> = [];
  for (let m = 1; m <= buckets.length; m++) {
    for (const t of tracker.update(evaluateBurn(buckets, target, m * minute), m * minute)) out.push({ ...t, minute: m });
  }
  return out;
}

describe('burn rates', () => {
  it('is the bad share over the error budget, in the window only', () => {
    const buckets = stream(120, (m) => (m < 60 ? 0 : 0.01));
    // 99.9 %: a 0.1 % budget; 1 % errors burn it 10× as fast.
    expect(burnRate(buckets, 0.999, 120 * minute, hour)).toBeCloseTo(10, 9);
    expect(burnRate(buckets, 0.999, 120 * minute, 2 * hour)).toBeCloseTo(5, 9);
    expect(burnRate(buckets, 0.999, 60 * minute, hour)).toBe(0);
    expect(burnRate([], 0.999, hour, hour)).toBe(0);
  });

  it('raises nothing for a steady trickle of errors within budget', () => {
    expect(replay(stream(8 * 60, () => 0.0005), 0.999)).toEqual([]);
  });

  it('pages within minutes of an outage and resolves about five minutes after it ends', () => {
    // Healthy for 2 h, every request fails for 3 minutes, then healthy again.
    const buckets = stream(4 * 60, (m) => (m >= 120 && m < 123 ? 1 : 0));
    const transitions = replay(buckets, 0.999);
    expect(transitions.map((t) => [t.severity, t.state, t.minute])).toEqual([
      ['page', 'firing', 121],
      ['ticket', 'firing', 121],
      ['page', 'resolved', 128],
      ['ticket', 'resolved', 153],
    ]);
    expect(transitions[0]!.longBurn).toBeGreaterThan(14.4);
  });

  it('raises a ticket, never a page, for a slow burn at 8×', () => {
    // 0.8 % errors against a 99.9 % objective, from hour 6 on.
    const transitions = replay(stream(14 * 60, (m) => (m >= 6 * 60 ? 0.008 : 0)), 0.999);
    expect(transitions.map((t) => [t.severity, t.state])).toEqual([['ticket', 'firing']]);
    // The 6 h window passes 6× once 4.5 h of it burn at 8×.
    expect(transitions[0]!.minute).toBe(6 * 60 + 4.5 * 60 + 1);
  });

  it('treats a latency objective the same way: requests over the threshold are the bad events', () => {
    // TTFT p95 ≤ 500 ms is a 95 % target; 80 % of requests slow burns at 16×.
    const slow = stream(2 * 60, (m) => (m >= 60 ? 0.8 : 0.01));
    expect(replay(slow, 0.95).map((t) => [t.severity, t.state])).toContainEqual(['page', 'firing']);
  });
});

describe('changesBefore', () => {
  it('lists the changes to the service, its nodes and its queue in the hour before the alert, oldest first', () => {
    const at = 10 * hour;
    const events = [
      { id: 1, at: at - 2 * hour, targetKind: 'service', targetId: 's1' },
      { id: 2, at: at - 30 * minute, targetKind: 'node', targetId: 'n1' },
      { id: 3, at: at - 50 * minute, targetKind: 'service', targetId: 's1' },
      { id: 4, at: at - 10 * minute, targetKind: 'node', targetId: 'n9' },
      { id: 5, at: at - 5 * minute, targetKind: 'queue', targetId: 'q1' },
      { id: 6, at: at + minute, targetKind: 'service', targetId: 's1' },
      { id: 7, at: at - minute, targetKind: 'workload', targetId: 'w1' },
    ];
    expect(changesBefore(events, { serviceId: 's1', nodeIds: ['n1', 'n2'], queueId: 'q1' }, at).map((e) => e.id)).toEqual([3, 2, 5]);
  });
});
