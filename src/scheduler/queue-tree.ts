import { EPSILON, GPU, addAmounts, formatAmount, type Amounts } from './resources.js';
import type { QueueQuota, ResourceKey, SnapshotQueue } from './types.js';

export class QueueState {
  readonly children: QueueState[] = [];
  parent: QueueState | null = null;
  readonly quotas = new Map<ResourceKey, QueueQuota>();
  /** What its running (not releasing) workloads and its children's hold. */
  readonly usage: Amounts = {};
  /** Usage plus what its pending workloads (and its children's) ask for. */
  readonly demand: Amounts = {};
  /** The part of `usage` held for workloads that have not started (waiting for their victims): it counts against limits and shares, not towards the guarantee. */
  readonly held: Amounts = {};
  /** Its fair share: guaranteed quota plus its part of the surplus. */
  readonly deserved: Amounts = {};
  private readonly guaranteedByKey = new Map<ResourceKey, number>();
  private lineage: QueueState[] | null = null;

  constructor(readonly source: SnapshotQueue) {
    for (const q of source.quotas) this.quotas.set(q.resource, q);
  }

  get id(): string {
    return this.source.id;
  }
  get name(): string {
    return this.source.name;
  }

  /** Its own guaranteed quota, or at least what its children are guaranteed: a child's guarantee holds through a parent that names none. */
  guaranteed(key: ResourceKey): number {
    let cached = this.guaranteedByKey.get(key);
    if (cached === undefined) {
      const own = this.quotas.get(key)?.guaranteed ?? 0;
      cached = Math.max(own, this.children.reduce((sum, c) => sum + c.guaranteed(key), 0));
      this.guaranteedByKey.set(key, cached);
    }
    return cached;
  }

  /** Decayed past use of the queue with its children: a parent's surplus share answers for its whole branch. */
  pastUse(key: ResourceKey): number {
    return (this.source.decayedUsage[key] ?? 0) + this.children.reduce((sum, c) => sum + c.pastUse(key), 0);
  }

  /** Whether giving up `amounts` would leave it below its guaranteed quota on any key it names. */
  dropsBelowGuarantee(amounts: Amounts): boolean {
    for (const key in amounts) {
      const guaranteed = this.guaranteed(key);
      if (guaranteed > 0 && (this.usage[key] ?? 0) - (this.held[key] ?? 0) - amounts[key]! < guaranteed - EPSILON) return true;
    }
    return false;
  }

  /**
   * What `dropsBelowGuarantee` compares, for each of `keys` it names a guarantee on: to judge many
   * workloads at once while the queue's usage does not change (`dropsBelow`).
   */
  guaranteeFloors(keys: readonly ResourceKey[]): GuaranteeFloor[] {
    const floors: GuaranteeFloor[] = [];
    for (const key of keys) {
      const guaranteed = this.guaranteed(key);
      if (guaranteed > 0) floors.push({ key, kept: (this.usage[key] ?? 0) - (this.held[key] ?? 0), floor: guaranteed - EPSILON });
    }
    return floors;
  }

  limit(key: ResourceKey): number | null {
    return this.quotas.get(key)?.limit ?? null;
  }

  /** A model's weight falls back to the queue's weight for GPUs as a whole. */
  weight(key: ResourceKey): number {
    return this.quotas.get(key)?.overQuotaWeight ?? (key.startsWith('gpu/') ? this.quotas.get(GPU)?.overQuotaWeight : undefined) ?? 1;
  }

  /** Idle guaranteed quota it keeps for itself rather than lend. */
  kept(key: ResourceKey): number {
    const quota = this.quotas.get(key);
    if (!quota || quota.lendingLimit === null) return 0;
    return Math.max(0, quota.guaranteed - quota.lendingLimit);
  }

  /** The queue, then its parent, up to the root; built once (the tree is fixed for a cycle) and read on every charge. */
  selfAndAncestors(): readonly QueueState[] {
    if (!this.lineage) {
      const lineage: QueueState[] = [];
      for (let q: QueueState | null = this; q; q = q.parent) lineage.push(q);
      this.lineage = lineage;
    }
    return this.lineage;
  }

  /**
   * How far over its fair share the queue is, as the largest used/deserved over the keys with a
   * fair share: the dominant resource share that orders queues (0 idle, 1 exactly at its share).
   */
  share(keys: readonly ResourceKey[]): number {
    let share = 0;
    for (const key of keys) {
      const used = this.usage[key] ?? 0;
      if (used <= EPSILON) continue;
      const deserved = this.deserved[key] ?? 0;
      share = Math.max(share, deserved <= EPSILON ? Infinity : used / deserved);
    }
    return share;
  }

  /** Whether it would still be within its fair share on every key after taking `amounts`. */
  withinShareAfter(amounts: Amounts, keys: readonly ResourceKey[]): boolean {
    for (const key of keys) {
      const add = amounts[key];
      if (add === undefined) continue;
      if ((this.usage[key] ?? 0) + add > (this.deserved[key] ?? 0) + EPSILON) return false;
    }
    return true;
  }

  overShare(key: ResourceKey): boolean {
    return (this.usage[key] ?? 0) > (this.deserved[key] ?? 0) + EPSILON;
  }
}

/** One key a queue names a guarantee on: what it keeps running there (not held for others) and how low that may go. */
export interface GuaranteeFloor {
  key: ResourceKey;
  kept: number;
  floor: number;
}

/** `QueueState.dropsBelowGuarantee` from the queue's floors (keys it names no guarantee on never bind). */
export function dropsBelow(floors: readonly GuaranteeFloor[], amounts: Amounts): boolean {
  for (const { key, kept, floor } of floors) {
    const amount = amounts[key];
    if (amount !== undefined && kept - amount < floor) return true;
  }
  return false;
}

/** The queue tree, the usage and demand rolled up along it, and the fair share of every queue. */
export class QueueTree {
  readonly queues = new Map<string, QueueState>();
  readonly roots: QueueState[] = [];
  /** Keys that get a fair share: GPUs always, plus every key some quota names. */
  readonly keys: ResourceKey[];

  constructor(queues: SnapshotQueue[]) {
    const sorted = [...queues].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const q of sorted) this.queues.set(q.id, new QueueState(q));
    for (const queue of this.queues.values()) {
      const parent = queue.source.parentId === null ? undefined : this.queues.get(queue.source.parentId);
      // A parent outside the snapshot (or a cycle the API should have refused) makes a root.
      if (parent && !this.isAncestor(queue, parent)) {
        queue.parent = parent;
        parent.children.push(queue);
      } else this.roots.push(queue);
    }
    const keys = new Set<ResourceKey>([GPU]);
    for (const q of queues) for (const quota of q.quotas) keys.add(quota.resource);
    this.keys = [...keys].sort();
  }

  private isAncestor(queue: QueueState, of: QueueState): boolean {
    for (let q: QueueState | null = of; q; q = q.parent) if (q === queue) return true;
    return false;
  }

  charge(queue: QueueState, amounts: Amounts, sign: 1 | -1 = 1): void {
    for (const q of queue.selfAndAncestors()) addAmounts(q.usage, amounts, sign);
  }

  /** Charges (or gives back) room held for a workload that will start once its victims are gone. */
  hold(queue: QueueState, amounts: Amounts, sign: 1 | -1 = 1): void {
    this.charge(queue, amounts, sign);
    for (const q of queue.selfAndAncestors()) addAmounts(q.held, amounts, sign);
  }

  addDemand(queue: QueueState, amounts: Amounts): void {
    for (const q of queue.selfAndAncestors()) addAmounts(q.demand, amounts);
  }

  /**
   * The first limit, of the queue or an ancestor, that taking `amounts` would pass; null if none.
   * `reserved` says what each queue keeps under its limits for backfill reservations that start
   * before the workload would end.
   */
  limitBlock(queue: QueueState, amounts: Amounts, reserved: ((q: QueueState) => Amounts | null) | null = null): string | null {
    for (const q of queue.selfAndAncestors()) {
      const kept = reserved?.(q) ?? null;
      for (const key in amounts) {
        const limit = q.limit(key);
        if (limit === null) continue;
        const used = q.usage[key] ?? 0;
        const held = kept?.[key] ?? 0;
        if (used + held + amounts[key]! > limit + EPSILON) {
          const whose = q === queue ? `queue ${q.name}` : `queue ${queue.name}'s parent ${q.name}`;
          const forReservations = held > 0 ? `, ${formatAmount(key, held)} kept for backfill reservations that start before it would end` : '';
          return `${whose} would exceed its limit of ${formatAmount(key, limit)} (${formatAmount(key, used)} in use${forReservations}, ${formatAmount(key, amounts[key]!)} asked)`;
        }
      }
    }
    return null;
  }

  /**
   * Divides each key's capacity down the tree: every queue first gets its guaranteed quota (up to
   * its demand, but never less than what it keeps from lending), then the surplus goes to siblings
   * by priority and, within a priority, by weight less decayed past use beyond the guarantee.
   */
  computeFairShares(capacity: Amounts, usageWeight: number): void {
    for (const key of this.keys) this.divide(capacity[key] ?? 0, this.roots, key, usageWeight);
  }

  private divide(amount: number, siblings: QueueState[], key: ResourceKey, usageWeight: number): void {
    if (siblings.length === 0) return;
    const cap = (q: QueueState) => Math.min(q.demand[key] ?? 0, q.limit(key) ?? Infinity);
    const reserved = siblings.map((q) => Math.min(q.guaranteed(key), Math.max(cap(q), q.kept(key))));
    const reservedTotal = reserved.reduce((a, b) => a + b, 0);
    // Guarantees that add up to more than there is shrink in proportion.
    const scale = reservedTotal > amount ? amount / reservedTotal : 1;
    const given = reserved.map((r) => r * scale);
    let surplus = Math.max(0, amount - reservedTotal * scale);
    const priorities = [...new Set(siblings.map((q) => q.source.priority))].sort((a, b) => b - a);
    for (const priority of priorities) {
      if (surplus <= EPSILON) break;
      const group = siblings.map((q, i) => ({ q, i })).filter(({ q }) => q.source.priority === priority);
      const fill = waterFill(
        surplus,
        group.map(({ q, i }) => ({
          weight: q.weight(key),
          head: usageWeight * Math.max(0, q.pastUse(key) - q.guaranteed(key)),
          room: Math.max(0, cap(q) - given[i]!),
        })),
      );
      group.forEach(({ i }, j) => {
        given[i]! += fill[j]!;
        surplus -= fill[j]!;
      });
    }
    siblings.forEach((q, i) => {
      q.deserved[key] = given[i]!;
      this.divide(given[i]!, q.children, key, usageWeight);
    });
  }
}

interface Claimant {
  weight: number;
  /** Past use that counts as already given: it starts the claimant further up. */
  head: number;
  room: number;
}

/**
 * Splits `amount` so that every claimant with room left ends at the same level, where a claimant's
 * level is (head + given) / weight; found by bisection on the level. A claimant of weight 0 gets
 * only what the others leave, shared in proportion to room (the limit as its weight goes to 0).
 */
export function waterFill(amount: number, claimants: Claimant[]): number[] {
  const at = (level: number) => claimants.map((c) => (c.weight > 0 ? Math.min(c.room, Math.max(0, level * c.weight - c.head)) : 0));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const all = claimants.map((c) => c.room);
  // Within rounding of the amount, everyone's room fits: room summed in another order must not
  // send the split through the bisection (a running share and the same share waiting add up apart).
  if (sum(all) <= amount + EPSILON) return all;
  let low = 0;
  let high = Math.max(0, ...claimants.map((c) => (c.weight > 0 ? (c.room + c.head) / c.weight : 0)));
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (sum(at(mid)) > amount) high = mid;
    else low = mid;
  }
  const given = at(low);
  const left = amount - sum(given);
  const idle = sum(claimants.map((c) => (c.weight > 0 ? 0 : c.room)));
  if (left > EPSILON && idle > 0) {
    for (let i = 0; i < claimants.length; i++) if (claimants[i]!.weight <= 0) given[i] = (claimants[i]!.room * Math.min(left, idle)) / idle;
  }
  return given;
}
