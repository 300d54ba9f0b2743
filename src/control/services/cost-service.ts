import { costReport, wasteReport, type AllocationInterval, type FleetHistory, type InventoryInterval, type NodePool, type PriceBook, type UsageSample, type Window } from '../../core/cost/index.js';
import type { TeamSpend } from '../../core/budgets.js';
import { ApiError } from '../../core/errors.js';
import { parseDurationSeconds } from '../../core/quantities.js';
import { activeReplicaStates } from '../../core/replica-state.js';
import { resolveTimeRef, type CostQuery, type CostReportView, type GpuTopRow, type WasteQuery, type WasteReportView } from '../../core/telemetry-api.js';
import { listGpuAllocations, listGpuUsage, listGpusWithNodes, listNodeLabels } from '../../store/usage-repo.js';
import type { GpuStat } from '../../core/agent-protocol.js';
import type { ControlContext } from '../context.js';
import type { UserPrincipal } from '../http/principal.js';

/** Where a node's instance type is read when its pool's catalog names none (Kubernetes' well-known label). */
const instanceTypeLabel = 'node.kubernetes.io/instance-type';

interface History {
  history: FleetHistory;
  workloadNames: Map<string, string>;
}

/**
 * Cost, waste and the live GPU view, from the database: GPUs (inventory), replicas (allocations)
 * and the agents' usage windows (samples), priced by the configured price book (src/core/cost).
 * A node's pool is the value of its `poolLabel` label, the one the scheduler places by.
 */
export class CostService {
  constructor(
    private readonly ctx: ControlContext,
    private readonly prices: PriceBook,
    private readonly poolLabel: string,
  ) {}

  async cost(user: UserPrincipal, query: CostQuery): Promise<CostReportView> {
    const window = this.window(query);
    const team = this.teamOf(user, query);
    const { history, workloadNames } = await this.history(window, team);
    const report = costReport(history, this.prices, window);
    const fleetWide = team === undefined;
    return {
      window: isoWindow(window),
      byWorkload: report.byWorkload.map((w) => ({ ...w, workload: workloadNames.get(w.workloadId) ?? w.workloadId })),
      byTeam: report.byTeam,
      byQueue: report.byQueue,
      idle: fleetWide ? report.idle : null,
      unallocatedUse: fleetWide ? report.unallocatedUse : null,
      totals: fleetWide ? report.totals : null,
    };
  }

  async waste(user: UserPrincipal, query: WasteQuery): Promise<WasteReportView> {
    const window = this.window(query);
    const { history, workloadNames } = await this.history(window, this.teamOf(user, query));
    const longerThanSeconds = parseDurationSeconds(query.longerThan)!;
    const entries = wasteReport(history, this.prices, window, { activityBelow: query.activityBelow, longerThanMs: longerThanSeconds * 1000 });
    return {
      window: isoWindow(window),
      activityBelow: query.activityBelow,
      longerThanSeconds,
      items: entries.map((e) => ({
        workloadId: e.workloadId,
        workload: workloadNames.get(e.workloadId) ?? e.workloadId,
        team: e.team,
        queue: e.queue,
        gpus: e.gpus,
        longestIdleSeconds: e.longestIdleMs / 1000,
        wastedGpuHours: e.wastedGpuHours,
        cost: e.cost,
        stretches: e.stretches.map((s) => ({ node: s.node, gpuIndex: s.gpuIndex, from: new Date(s.from).toISOString(), to: new Date(s.to).toISOString(), gpuHours: s.gpuHours, cost: s.cost })),
      })),
    };
  }

  /** Billable GPU-hours and cost per team over the window: what a budget counts (allocations only, so no usage is read). */
  async teamSpend(window: Window): Promise<Map<string, TeamSpend>> {
    const [allocations, nodePools] = await Promise.all([this.allocations(window, undefined), this.nodePools()]);
    const report = costReport({ inventory: [], allocations: allocations.list, samples: [], nodePools }, this.prices, window);
    return new Map(report.byTeam.map((t) => [t.team, { gpuHours: t.billableGpuHours, cost: t.cost }]));
  }

  /** Every GPU with its holder and the latest sample its node sent. */
  async top(): Promise<GpuTopRow[]> {
    const now = this.ctx.now();
    const [gpus, allocations] = await Promise.all([listGpusWithNodes(this.ctx.db), listGpuAllocations(this.ctx.db, now, new Date(now.getTime() + 1))]);
    const holders = new Map<string, (typeof allocations)[number]>();
    for (const a of allocations) if (activeReplicaStates.includes(a.state)) for (const i of a.gpu_indices) holders.set(`${a.node}/${i}`, a);
    return gpus.map((g) => {
      const stat = ((g.gpu_stats ?? []) as GpuStat[]).find((s) => s.gpuIndex === g.idx);
      const holder = holders.get(`${g.node}/${g.idx}`);
      return {
        node: g.node,
        nodeState: g.state,
        gpu: g.idx,
        model: g.model,
        workload: holder?.workload_name ?? null,
        team: holder?.team ?? null,
        queue: holder?.queue ?? null,
        utilPct: stat?.utilPct ?? null,
        activity: stat?.activity ?? null,
        memoryUsedMiB: stat?.memoryUsedMiB ?? null,
        memoryTotalMiB: stat?.memoryTotalMiB ?? g.memory_mib,
        powerW: stat?.powerW ?? null,
        tempC: stat?.tempC ?? null,
        sampledAt: stat ? new Date(stat.at).toISOString() : null,
      };
    });
  }

  private window(query: CostQuery): Window {
    const now = this.ctx.now().getTime();
    const window = { since: resolveTimeRef(query.since, now), until: query.until === undefined ? now : resolveTimeRef(query.until, now) };
    if (window.since >= window.until)
      throw new ApiError('invalid_request', `invalid query: since: must be before until (${new Date(window.until).toISOString()})`, {
        issues: [{ path: 'since', message: 'must be before until' }],
      });
    return window;
  }

  /** A member sees only their own team; an admin any team, or the whole fleet. */
  private teamOf(user: UserPrincipal, query: CostQuery): string | undefined {
    if (user.role === 'admin') return query.team;
    if (query.team !== undefined && query.team !== user.teamName) throw new ApiError('forbidden', `a member of team ${user.teamName} may not see team ${query.team}`);
    return user.teamName ?? undefined;
  }

  private async history(window: Window, team: string | undefined): Promise<History> {
    const [gpus, allocations, usage, nodePools] = await Promise.all([
      listGpusWithNodes(this.ctx.db),
      this.allocations(window, team),
      listGpuUsage(this.ctx.db, new Date(window.since), new Date(window.until)),
      this.nodePools(),
    ]);
    const inventory: InventoryInterval[] = gpus.map((g) => ({
      node: g.node,
      gpuIndex: g.idx,
      model: g.model,
      from: g.created_at.getTime(),
      // A lost node's GPUs left the fleet with its last heartbeat.
      to: g.state === 'lost' && g.last_heartbeat_at ? g.last_heartbeat_at.getTime() : null,
    }));
    const samples: UsageSample[] = usage.map((u) => ({ node: u.node, gpuIndex: u.gpu_index, t: u.from_at.getTime(), engineActivity: u.activity, used: u.used }));
    return { history: { inventory, allocations: allocations.list, samples, nodePools }, workloadNames: allocations.workloadNames };
  }

  /**
   * Each pooled node's pool and instance type, from its labels as they are now: the price book's
   * pools price by them (a relabelled node is priced by its new pool over the whole window).
   */
  private async nodePools(): Promise<Map<string, NodePool>> {
    if (Object.keys(this.prices.pools).length === 0) return new Map();
    const pools = new Map<string, NodePool>();
    for (const { name, labels } of await listNodeLabels(this.ctx.db)) {
      const pool = labels[this.poolLabel];
      if (pool !== undefined) pools.set(name, { pool, instanceType: labels[instanceTypeLabel] });
    }
    return pools;
  }

  /** One interval per GPU (or share of one) each replica held in the window, charged to its workload, team and queue. */
  private async allocations(window: Window, team: string | undefined): Promise<{ list: AllocationInterval[]; workloadNames: Map<string, string> }> {
    const replicas = await listGpuAllocations(this.ctx.db, new Date(window.since), new Date(window.until));
    const workloadNames = new Map<string, string>();
    const list: AllocationInterval[] = [];
    for (const r of replicas) {
      if (team !== undefined && r.team !== team) continue;
      workloadNames.set(r.workload_id, r.workload_name);
      const ended = !activeReplicaStates.includes(r.state);
      const to = r.finished_at?.getTime() ?? (ended ? r.updated_at.getTime() : null);
      for (const gpuIndex of r.gpu_indices)
        list.push({
          workloadId: r.workload_id,
          team: r.team,
          queue: r.queue,
          node: r.node,
          model: r.gpu_model ?? 'unknown',
          gpuIndex,
          ...(r.gpu_fraction === null ? {} : { share: r.gpu_fraction }),
          from: r.created_at.getTime(),
          to,
        });
    }
    return { list, workloadNames };
  }
}

function isoWindow(w: Window): { since: string; until: string } {
  return { since: new Date(w.since).toISOString(), until: new Date(w.until).toISOString() };
}
