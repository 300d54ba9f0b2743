import { budgetStatuses, periodStart, type BudgetBook, type BudgetStatus } from '../../core/budgets.js';
import { listTeams } from '../../store/teams-repo.js';
import type { ControlContext } from '../context.js';
import type { UserPrincipal } from '../http/principal.js';
import type { CostService } from './cost-service.js';

/** Team budgets from `server --budgets FILE` (docs/cost.md, "Budgets"), priced like the cost report. */
export class BudgetService {
  private cached: { at: number; held: Map<string, string> } | null = null;

  constructor(
    private readonly ctx: ControlContext,
    private readonly book: BudgetBook,
    private readonly cost: CostService,
  ) {}

  async statuses(): Promise<BudgetStatus[]> {
    if (Object.keys(this.book.teams).length === 0) return [];
    const now = this.ctx.now().getTime();
    const spend = await this.cost.teamSpend({ since: periodStart(this.book.period, now), until: now });
    return budgetStatuses(this.book, spend, now);
  }

  /** What a user may see: an admin every team's budget, a member their own team's. */
  async list(user: UserPrincipal): Promise<BudgetStatus[]> {
    const all = await this.statuses();
    return user.role === 'admin' ? all : all.filter((b) => b.team === user.teamName);
  }

  /** Team id → why its non-preemptible work waits, for the teams over budget; recomputed at most every `budgetRefreshMs` (spend moves slowly against a period). */
  async heldTeams(): Promise<Map<string, string>> {
    const now = this.ctx.now().getTime();
    if (this.cached && now - this.cached.at < this.ctx.config.budgetRefreshMs) return this.cached.held;
    const over = (await this.statuses()).filter((b) => b.over);
    const held = new Map<string, string>();
    if (over.length > 0) {
      const ids = new Map((await listTeams(this.ctx.db)).map((t) => [t.name, t.id]));
      for (const b of over) {
        const id = ids.get(b.team);
        if (id !== undefined) held.set(id, b.reason!);
      }
    }
    this.cached = { at: now, held };
    return held;
  }
}
