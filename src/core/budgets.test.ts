import { describe, expect, it } from 'vitest';
import { budgetStatuses, parseBudgetBook, periodStart } from './budgets.js';

describe('periodStart', () => {
  const t = Date.parse('2026-12-06T21:30:00Z'); // a Sunday
  it('is midnight UTC, the Monday before, or the 1st of the month', () => {
    expect(new Date(periodStart('day', t)).toISOString()).toBe('2026-12-06T00:00:00.000Z');
    expect(new Date(periodStart('week', t)).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(new Date(periodStart('week', Date.parse('2026-11-30T00:00:00Z'))).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(new Date(periodStart('month', t)).toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });
});

describe('budgetStatuses', () => {
  const book = parseBudgetBook({ period: 'week', teams: { research: { gpuHours: 100 }, prod: { money: 500 }, both: { gpuHours: 10, money: 1000 } } });
  const now = Date.parse('2026-12-06T12:00:00Z');

  it('puts a team over once either of its limits is reached, and says why', () => {
    const spend = new Map([
      ['research', { gpuHours: 100, cost: 250 }],
      ['prod', { gpuHours: 10, cost: 499.99 }],
      ['both', { gpuHours: 10.5, cost: 20 }],
    ]);
    const s = budgetStatuses(book, spend, now);
    expect(s.map((b) => [b.team, b.over])).toEqual([['both', true], ['prod', false], ['research', true]]);
    expect(s[2]!.reason).toBe('team research is over its budget (100 of 100 GPU-hours this week): only preemptible work runs');
    expect(s[1]!.reason).toBeNull();
    expect(s[0]!.since).toBe(Date.parse('2026-11-30T00:00:00Z'));
  });

  it('counts a team that spent nothing as within budget', () => {
    expect(budgetStatuses(book, new Map(), now).every((b) => !b.over && b.usedGpuHours === 0)).toBe(true);
  });

  it('refuses a budget with no limit, naming the team', () => {
    expect(() => parseBudgetBook({ teams: { research: {} } })).toThrow(/budgets\.teams\.research: needs gpuHours or money/);
    expect(() => parseBudgetBook({ period: 'year' })).toThrow(/budgets\.period/);
  });
});
