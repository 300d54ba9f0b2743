import { z } from 'zod';
import { nameSchema } from './names.js';
import { parseOrThrow } from './zod-issues.js';

/**
 * Team budgets: GPU-hours or money per calendar period (UTC). A team that has spent its budget
 * only runs preemptible work until the period turns; what already runs is left alone.
 */

const teamBudgetSchema = z
  .strictObject({
    gpuHours: z.number().positive().optional().describe('Billable GPU-hours per period'),
    money: z.number().positive().optional().describe('Cost per period, in the price book’s currency'),
  })
  .refine((b) => b.gpuHours !== undefined || b.money !== undefined, { message: 'needs gpuHours or money' });

export const budgetBookSchema = z.strictObject({
  period: z.enum(['day', 'week', 'month']).default('month'),
  teams: z.record(nameSchema, teamBudgetSchema).default({}),
});
export type BudgetBook = z.infer<typeof budgetBookSchema>;
export type BudgetPeriod = BudgetBook['period'];

export function parseBudgetBook(value: unknown): BudgetBook {
  return parseOrThrow(budgetBookSchema, value, 'budgets');
}

/** Start of the period holding `t`: midnight UTC, Monday 00:00 UTC, or the 1st of the month. */
export function periodStart(period: BudgetPeriod, t: number): number {
  const d = new Date(t);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (period === 'day') return midnight;
  if (period === 'week') return midnight - ((d.getUTCDay() + 6) % 7) * 86_400_000;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export interface TeamSpend {
  gpuHours: number;
  cost: number;
}

export interface BudgetStatus {
  team: string;
  period: BudgetPeriod;
  since: number;
  limitGpuHours: number | null;
  limitMoney: number | null;
  usedGpuHours: number;
  usedMoney: number;
  over: boolean;
  /** Why the team's non-preemptible work waits; null while within budget. */
  reason: string | null;
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Each budgeted team's spend against its limits; a team is over once either limit is reached. */
export function budgetStatuses(book: BudgetBook, spend: ReadonlyMap<string, TeamSpend>, now: number): BudgetStatus[] {
  const since = periodStart(book.period, now);
  return Object.entries(book.teams)
    .map(([team, limits]) => {
      const used = spend.get(team) ?? { gpuHours: 0, cost: 0 };
      const overHours = limits.gpuHours !== undefined && used.gpuHours >= limits.gpuHours;
      const overMoney = limits.money !== undefined && used.cost >= limits.money;
      const what = overHours ? `${round(used.gpuHours)} of ${limits.gpuHours} GPU-hours` : `${round(used.cost)} of ${limits.money} in cost`;
      return {
        team,
        period: book.period,
        since,
        limitGpuHours: limits.gpuHours ?? null,
        limitMoney: limits.money ?? null,
        usedGpuHours: used.gpuHours,
        usedMoney: used.cost,
        over: overHours || overMoney,
        reason: overHours || overMoney ? `team ${team} is over its budget (${what} this ${book.period}): only preemptible work runs` : null,
      };
    })
    .sort((a, b) => a.team.localeCompare(b.team));
}
