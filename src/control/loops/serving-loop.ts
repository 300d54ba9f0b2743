import { addCounters, emptyCounters, type GatewayReport, type VersionCounters } from '../../core/gateway-report.js';
import { decideReplicas, initialMemory, type AutoscaleMemory, type Autoscaling } from '../../core/autoscaling.js';
import type { ServiceSpec } from '../../core/service-types.js';
import { listCurrentReplicas, listServiceWorkloads, listServices, updateServiceAt } from '../../store/services-repo.js';
import { listGatewayReports } from '../../store/gateway-reports-repo.js';
import { insertEvents, type NewEvent } from '../../store/events-repo.js';
import { inTransaction } from '../../store/transaction.js';
import type { ReplicaRow, ServiceRow, WorkloadRow } from '../../store/schema.js';
import type { Db } from '../../store/db.js';
import type { ControlContext } from '../context.js';
import { topics } from '../wakeups.js';
import { readReplicaLoad, type ReplicaLoad } from '../services/replica-metrics.js';
import { reconcileSlots, serviceWants, slotVersion, stopSlots } from '../services/service-slots.js';
import { advanceRollout } from '../services/rollouts.js';
import { isServing } from '../services/serving-service.js';
import { IntervalDuty } from './interval-duty.js';

/** A draining replica is stopped once it has nothing in flight and this long has passed (every gateway has dropped it from its table). */
export const drainSettleMs = 3000;
/** …or after this long whatever it still has in flight. */
export const drainTimeoutMs = 300_000;
/** Gateways heard from within this long count. */
const reportFreshMs = 10_000;

interface ServiceMemory {
  autoscale: AutoscaleMemory;
  /** Finished-request counter per slot at the last read, to see requests that came and went between two ticks. */
  finished: Map<string, number>;
}

/**
 * The services' control loop, on the leader: every tick it reads the replicas' load (their
 * Prometheus endpoints) and the gateways' reports, then drains, autoscales and moves rollouts on.
 */
export class ServingLoop {
  private readonly duty: IntervalDuty;
  private readonly memory = new Map<string, ServiceMemory>();

  constructor(private readonly ctx: ControlContext) {
    this.duty = new IntervalDuty(ctx.config.servingIntervalMs, () => this.tick(), (err) => ctx.logger.error({ err }, 'serving loop failed'));
  }

  start(): void {
    this.duty.start();
  }

  stop(): Promise<void> {
    return this.duty.stop();
  }

  async tick(): Promise<void> {
    const db = this.ctx.db;
    const now = this.ctx.now();
    const services = await listServices(db);
    if (services.length === 0) return;
    const slots = await listServiceWorkloads(db, services.map((s) => s.id));
    const placed = new Map((await listCurrentReplicas(db, slots)).map((r) => [r.workload_id, r]));
    // Only what a decision needs is read: draining replicas, and those of services that scale by load.
    const scaling = new Set(services.filter((s) => (s.spec as ServiceSpec).autoscaling && s.rollout?.phase !== 'progressing').map((s) => s.id));
    const loads = new Map<string, ReplicaLoad | undefined>();
    await Promise.all(
      slots.map(async (w) => {
        if (w.draining_since === null && !scaling.has(w.service_id ?? '')) return;
        const r = placed.get(w.id);
        if (r?.state === 'running' && r.endpoint !== null) loads.set(w.id, await readReplicaLoad(r.endpoint));
      }),
    );
    const { counters, held } = summarize(await listGatewayReports(db, new Date(now.getTime() - reportFreshMs)));
    const wake: string[] = [];
    for (const service of services) {
      const own = slots.filter((w) => w.service_id === service.id);
      try {
        wake.push(...(await this.drain(own, placed, loads, now)));
        if (service.rollout?.phase === 'progressing') {
          const canary = own.filter((w) => slotVersion(w) === service.rollout!.canaryVersion && w.draining_since === null);
          const canaryReady = canary.filter((w) => servingNow(w, placed)).length;
          const canaryRestarts = Math.max(0, ...canary.map((w) => w.restarts));
          wake.push(...(await this.inTx((tx, events) => advanceRollout(tx, service, { now, counters: counters.get(service.model) ?? new Map(), canaryReady, canaryRestarts }, events))));
        } else if ((service.spec as ServiceSpec).autoscaling) {
          wake.push(...(await this.autoscale(service, own, placed, loads, held.get(service.model) ?? 0, now)));
        }
      } catch (err) {
        this.ctx.logger.warn({ err, service: service.name }, 'service tick failed; trying again next tick');
      }
    }
    for (const id of this.memory.keys()) if (!services.some((s) => s.id === id)) this.memory.delete(id);
    if (wake.length > 0) this.ctx.wakeups.wake([...new Set(wake)].map(topics.node).concat(topics.schedule));
  }

  private async drain(own: WorkloadRow[], placed: Map<string, ReplicaRow>, loads: Map<string, ReplicaLoad | undefined>, now: Date): Promise<string[]> {
    const done = own.filter((w) => {
      if (w.draining_since === null) return false;
      const r = placed.get(w.id);
      if (r?.state !== 'running') return true;
      const elapsed = now.getTime() - w.draining_since.getTime();
      const load = loads.get(w.id);
      const busy = load !== undefined && load.running + load.waiting > 0;
      return elapsed >= drainTimeoutMs || (elapsed >= drainSettleMs && !busy);
    });
    if (done.length === 0) return [];
    return this.inTx((tx) => stopSlots(tx, done, 'drained', now));
  }

  private async autoscale(service: ServiceRow, own: WorkloadRow[], placed: Map<string, ReplicaRow>, loads: Map<string, ReplicaLoad | undefined>, held: number, now: Date): Promise<string[]> {
    const spec = (service.spec as ServiceSpec).autoscaling as Autoscaling;
    const memory = this.memory.get(service.id) ?? { autoscale: initialMemory(now.getTime()), finished: new Map<string, number>() };
    this.memory.set(service.id, memory);
    const current = own.filter((w) => w.draining_since === null && slotVersion(w) === service.model_version);
    const samples: number[] = [];
    let active = false;
    let warming = 0;
    for (const w of current) {
      const load = loads.get(w.id);
      if (!servingNow(w, placed) || load === undefined) {
        if (now.getTime() - w.created_at.getTime() < spec.warmupSeconds * 1000) warming++;
        continue;
      }
      const sample = spec.metric === 'queue-depth' ? load.waiting : spec.metric === 'kv-cache' ? load.kvCacheUsage : load.running + load.waiting;
      // A server that does not report its KV cache (TGI) gives no sample for a kv-cache target.
      if (sample !== null) samples.push(sample);
      const before = memory.finished.get(w.id);
      active ||= load.running + load.waiting > 0 || (before !== undefined && load.finished > before);
      memory.finished.set(w.id, load.finished);
    }
    for (const id of memory.finished.keys()) if (!current.some((w) => w.id === id)) memory.finished.delete(id);
    const decision = decideReplicas(
      { now: now.getTime(), spec, current: service.replicas, samples, warming, active, heldAtGateways: held, scaledAt: (service.scaled_at ?? service.created_at).getTime() },
      memory.autoscale,
    );
    memory.autoscale = decision.memory;
    if (decision.replicas === service.replicas) return [];
    return this.inTx(async (tx, events) => {
      const row = await updateServiceAt(tx, service.id, service.version, { replicas: decision.replicas, scaled_at: now });
      if (!row) return [];
      events.push({ actor: 'autoscaler', kind: 'service.scaled', targetKind: 'service', targetId: service.id, message: `service ${service.name} scaled ${service.replicas} → ${decision.replicas}: ${decision.reason}` });
      this.ctx.logger.info({ service: service.name, from: service.replicas, to: decision.replicas, reason: decision.reason }, 'service scaled');
      return reconcileSlots(tx, row, serviceWants(row), 'drain', `scaled to ${decision.replicas}`, now, events);
    });
  }

  private inTx(work: (tx: Db, events: NewEvent[]) => Promise<string[]>): Promise<string[]> {
    return inTransaction(this.ctx.db, async (tx) => {
      const events: NewEvent[] = [];
      const nodes = await work(tx, events);
      await insertEvents(tx, events);
      return nodes;
    });
  }
}

function servingNow(w: WorkloadRow, placed: Map<string, ReplicaRow>): boolean {
  const r = placed.get(w.id);
  return r !== undefined && isServing(w, r);
}

/** Per model: counters per version summed over gateways, and requests held for a replica. */
export function summarize(reports: readonly GatewayReport[]): { counters: Map<string, Map<string, VersionCounters>>; held: Map<string, number> } {
  const counters = new Map<string, Map<string, VersionCounters>>();
  const held = new Map<string, number>();
  for (const report of reports)
    for (const m of report.models) {
      held.set(m.model, (held.get(m.model) ?? 0) + m.waiting);
      const versions = counters.get(m.model) ?? new Map<string, VersionCounters>();
      for (const v of m.versions) versions.set(v.version, addCounters(versions.get(v.version) ?? emptyCounters(), v.counters));
      counters.set(m.model, versions);
    }
  return { counters, held };
}
