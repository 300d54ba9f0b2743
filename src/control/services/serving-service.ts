import { isDeepStrictEqual } from 'node:util';
import { ApiError } from '../../core/errors.js';
import { newId, idPrefixes } from '../../core/ids.js';
import type { ApplyResult } from '../../core/api-types.js';
import { type Service, type ServiceEndpoint, type ServicePut, type ServiceSpec } from '../../core/service-types.js';
import { listTeams } from '../../store/teams-repo.js';
import { listQueues } from '../../store/queues-repo.js';
import { listNodes } from '../../store/nodes-repo.js';
import { findServiceByName, insertService, listCurrentReplicas, listServiceWorkloads, listServices, updateServiceAt } from '../../store/services-repo.js';
import { insertEvents, type NewEvent } from '../../store/events-repo.js';
import { inTransaction, isUniqueViolation } from '../../store/transaction.js';
import type { Db } from '../../store/db.js';
import type { ReplicaRow, ServiceRow, WorkloadRow } from '../../store/schema.js';
import type { ControlContext } from '../context.js';
import type { UserPrincipal } from '../http/principal.js';
import { topics } from '../wakeups.js';
import type { GatewayReport } from '../../core/gateway-report.js';
import { saveGatewayReport } from '../../store/gateway-reports-repo.js';
import { reconcileSlots, serviceWants, slotVersion, stopSlots } from './service-slots.js';
import { finishRollout, requestPromotion, rolloutView, startRollout, versionWeights } from './rollouts.js';
import type { WorkloadService } from './workload-service.js';

/**
 * Services: apply keeps a service's slots (one workload each) in line with its spec. A change of
 * replicas adds slots or drains the extra ones; a change of version starts a rollout
 * (`rollouts.ts`); any other change of the spec replaces every slot at once.
 */
export class ServingService {
  constructor(
    private readonly ctx: ControlContext,
    private readonly workloads: WorkloadService,
  ) {}

  async put(user: UserPrincipal, name: string, input: ServicePut): Promise<{ result: ApplyResult; service: Service }> {
    const { team: teamName, ...spec } = input;
    const db = this.ctx.db;
    const team = await this.workloads.resolveTeam(db, user, teamName);
    const queue = await this.workloads.resolveQueue(db, team, spec.queue);
    let result: ApplyResult;
    try {
      result = await inTransaction(db, async (tx) => {
        const existing = await findServiceByName(tx, team.id, name);
        const sameModel = await tx.selectFrom('services').select('name').where('model', '=', spec.model).where('deleted_at', 'is', null).where('id', '!=', existing?.id ?? '').executeTakeFirst();
        if (sameModel)
          throw new ApiError('conflict', `model ${spec.model} is already served by service ${sameModel.name}`, { issues: [{ path: 'model', message: 'already served by another service' }] });
        const events: NewEvent[] = [];
        const now = this.ctx.now();
        let outcome: ApplyResult;
        let nodeIds: string[] = [];
        if (!existing) {
          const row = await insertService(tx, { id: newId(idPrefixes.service), name, team_id: team.id, queue_id: queue.id, model: spec.model, model_version: spec.version, replicas: startingCount(spec, spec.replicas), spec: JSON.stringify(spec), scaled_at: now });
          await reconcileSlots(tx, row, serviceWants(row), 'stop', 'created', now, events);
          events.push({ actor: user.name, kind: 'service.created', targetKind: 'service', targetId: row.id, message: `service ${name} created: ${spec.model} ${spec.version} × ${row.replicas}` });
          outcome = 'created';
        } else {
          const old = existing.spec as ServiceSpec;
          const sameTemplate = existing.queue_id === queue.id && isDeepStrictEqual(template(old), template(spec));
          const replicas = spec.autoscaling ? startingCount(spec, existing.replicas) : spec.replicas;
          if (sameTemplate && existing.replicas === replicas && isDeepStrictEqual(policies(old), policies(spec))) return 'unchanged';
          const inRollout = existing.rollout?.phase === 'progressing';
          if (inRollout && !sameTemplate)
            throw new ApiError('conflict', `service ${name} is rolling out ${existing.rollout!.canaryVersion}; promote or abort it first (gpufleet rollout promote|abort ${name})`, { issues: [{ path: 'version', message: 'a rollout is in progress' }] });
          const rollout = !sameTemplate && spec.version !== existing.model_version && existing.replicas > 0 ? startRollout(existing, spec, now) : undefined;
          const row = await updateServiceAt(tx, existing.id, existing.version, {
            queue_id: queue.id, model: spec.model, model_version: spec.version, replicas, spec: JSON.stringify(spec),
            ...(replicas !== existing.replicas ? { scaled_at: now } : {}),
            ...(rollout ? { rollout: JSON.stringify(rollout) } : {}),
          });
          if (!row) throw new ApiError('version_conflict', `service ${name} changed while being applied; try again`);
          let change: string;
          if (sameTemplate || rollout) {
            nodeIds = await reconcileSlots(tx, row, serviceWants(row), 'drain', `scaled to ${replicas}`, now, events);
            change = rollout ? `rolling out ${spec.version} (${rollout.strategy}), ${existing.model_version} stays until it is promoted` : `scaled to ${replicas}`;
          } else {
            nodeIds = await stopSlots(tx, await listServiceWorkloads(tx, [row.id]), 'replaced by a new spec', now);
            await reconcileSlots(tx, row, serviceWants(row), 'stop', 'replaced by a new spec', now, events);
            change = `updated: ${spec.model} ${spec.version} × ${replicas}, every replica replaced`;
          }
          events.push({ actor: user.name, kind: rollout ? 'rollout.started' : sameTemplate ? 'service.scaled' : 'service.updated', targetKind: 'service', targetId: row.id, message: `service ${name} ${change}` });
          outcome = 'updated';
        }
        await insertEvents(tx, events);
        this.ctx.wakeups.wake([...nodeIds.map(topics.node), topics.schedule]);
        return outcome;
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ApiError('conflict', `service ${name} or one of its replicas' names (${name}.N) is already in use in team ${team.name}`, { issues: [{ path: 'name', message: 'already in use' }] });
      throw err;
    }
    return { result, service: await this.get(user, name, team.name) };
  }

  async delete(user: UserPrincipal, name: string, teamName: string | undefined): Promise<void> {
    const team = await this.workloads.resolveTeam(this.ctx.db, user, teamName);
    const nodeIds = await inTransaction(this.ctx.db, async (tx) => {
      const service = await findServiceByName(tx, team.id, name);
      if (!service) throw new ApiError('not_found', `service ${name} not found in team ${team.name}`);
      const deleted = await updateServiceAt(tx, service.id, service.version, { deleted_at: this.ctx.now() });
      if (!deleted) throw new ApiError('version_conflict', `service ${name} changed while being deleted; try again`);
      const nodes = await stopSlots(tx, await listServiceWorkloads(tx, [service.id]), `service ${name} deleted`, this.ctx.now());
      await insertEvents(tx, [{ actor: user.name, kind: 'service.deleted', targetKind: 'service', targetId: service.id, message: `service ${name} deleted` }]);
      return nodes;
    });
    this.ctx.wakeups.wake([...nodeIds.map(topics.node), topics.schedule]);
  }

  /**
   * A gateway's report: kept for the serving loop (rollouts compare its counters), and a service
   * scaled to zero whose requests a gateway holds is woken at once rather than at the next tick.
   */
  async report(user: UserPrincipal, report: GatewayReport): Promise<void> {
    if (user.role !== 'admin') throw new ApiError('forbidden', 'only an admin token (a gateway’s) may report gateway counters');
    const now = this.ctx.now();
    await saveGatewayReport(this.ctx.db, report, now);
    const waiting = new Set(report.models.filter((m) => m.waiting > 0).map((m) => m.model));
    if (waiting.size === 0) return;
    const cold = (await listServices(this.ctx.db)).filter((s) => waiting.has(s.model) && s.replicas === 0 && (s.spec as ServiceSpec).autoscaling !== undefined);
    for (const service of cold) {
      const nodeIds = await inTransaction(this.ctx.db, async (tx) => {
        const replicas = Math.max(1, (service.spec as ServiceSpec).autoscaling!.min);
        const row = await updateServiceAt(tx, service.id, service.version, { replicas, scaled_at: now });
        if (!row) return []; // someone else scaled it meanwhile
        const events: NewEvent[] = [{ actor: 'autoscaler', kind: 'service.scaled', targetKind: 'service', targetId: row.id, message: `service ${row.name} scaled 0 → ${replicas}: cold start, requests held at gateway ${report.gateway}` }];
        const nodes = await reconcileSlots(tx, row, serviceWants(row), 'stop', 'cold start', now, events);
        await insertEvents(tx, events);
        return nodes;
      });
      this.ctx.wakeups.wake([...nodeIds.map(topics.node), topics.schedule]);
    }
  }

  /**
   * `rollback` ends the service's rollout now, back to the stable version; `promote` sizes the new
   * version to the full count and has the serving loop promote it as soon as those replicas are ready.
   */
  async endRollout(user: UserPrincipal, name: string, teamName: string | undefined, how: 'promote' | 'rollback'): Promise<Service> {
    const team = await this.workloads.resolveTeam(this.ctx.db, user, teamName);
    const now = this.ctx.now();
    const nodeIds = await inTransaction(this.ctx.db, async (tx) => {
      const row = await findServiceByName(tx, team.id, name);
      if (!row) throw new ApiError('not_found', `service ${name} not found in team ${team.name}`);
      if (row.rollout?.phase !== 'progressing') throw new ApiError('conflict', `service ${name} has no rollout in progress`, { issues: [{ path: 'rollout', message: 'none in progress' }] });
      const events: NewEvent[] = [];
      const nodes =
        how === 'promote'
          ? await requestPromotion(tx, row, user.name, now, events)
          : await finishRollout(tx, row, row.rollout, 'rollback', `${row.rollout.canaryVersion} rolled back by ${user.name}`, user.name, now, events);
      await insertEvents(tx, events);
      return nodes;
    });
    this.ctx.wakeups.wake([...nodeIds.map(topics.node), topics.schedule]);
    return this.get(user, name, team.name);
  }

  async get(user: UserPrincipal, name: string, teamName: string | undefined): Promise<Service> {
    const team = await this.workloads.resolveTeam(this.ctx.db, user, teamName);
    const row = await findServiceByName(this.ctx.db, team.id, name);
    if (!row) throw new ApiError('not_found', `service ${name} not found in team ${team.name}`);
    const [view] = await this.views([row]);
    return view!;
  }

  /** Every live service the caller may see: members their team's, admins (and gateways) all. */
  async list(user: UserPrincipal): Promise<Service[]> {
    if (user.role !== 'admin' && user.teamId === null) return [];
    return this.views(await listServices(this.ctx.db, user.role === 'admin' ? undefined : (user.teamId ?? undefined)));
  }

  private async views(rows: ServiceRow[]): Promise<Service[]> {
    const db = this.ctx.db;
    const slots = await listServiceWorkloads(db, rows.map((r) => r.id));
    const [teams, queues, nodes, replicas] = await Promise.all([listTeams(db), listQueues(db), listNodes(db), listCurrentReplicas(db, slots)]);
    const teamNames = new Map(teams.map((t) => [t.id, t.name]));
    const queueNames = new Map(queues.map((q) => [q.id, q.name]));
    const nodeNames = new Map(nodes.map((n) => [n.id, n.name]));
    const placement = new Map(replicas.map((r) => [r.workload_id, r]));
    return rows.map((row) => {
      const own = slots.filter((w) => w.service_id === row.id);
      const replicaStatus = own.map((w) => slotView(w, placement.get(w.id), nodeNames));
      const endpoints = own.flatMap((w) => {
        const r = placement.get(w.id);
        return r !== undefined && isServing(w, r) ? [endpointView(row, w, r, nodeNames)] : [];
      });
      return {
        id: row.id,
        name: row.name,
        team: teamNames.get(row.team_id) ?? row.team_id,
        queue: queueNames.get(row.queue_id) ?? row.queue_id,
        model: row.model,
        version: row.model_version,
        replicas: row.replicas,
        readyReplicas: endpoints.length,
        spec: row.spec,
        endpoints,
        weights: versionWeights(row),
        rollout: rolloutView(row.rollout),
        replicaStatus,
        resourceVersion: row.version,
        createdAt: row.created_at.toISOString(),
        updatedAt: row.updated_at.toISOString(),
      };
    });
  }
}

/** Everything of a spec but the replica count and policies: what, when changed, replaces the replicas. */
function template(spec: ServiceSpec): unknown {
  const { replicas: _replicas, autoscaling: _autoscaling, rollout: _rollout, slo: _slo, ...rest } = spec;
  // As stored: JSON drops undefined fields (and jsonb reorders keys, which the comparison ignores).
  return JSON.parse(JSON.stringify(rest));
}

/** The policies: changing them alone touches no replica. */
function policies(spec: ServiceSpec): unknown {
  return JSON.parse(JSON.stringify({ autoscaling: spec.autoscaling, rollout: spec.rollout, slo: spec.slo }));
}

/** An autoscaled service keeps its count within [min, max]; the first apply starts at `replicas` so clamped. */
function startingCount(spec: ServiceSpec, current: number): number {
  const a = spec.autoscaling;
  return a ? Math.min(a.max, Math.max(a.min, current)) : current;
}

/** A replica takes traffic while it runs, is wanted, and its readiness probe answers. */
export function isServing(w: WorkloadRow, r: ReplicaRow): boolean {
  return w.state === 'running' && w.draining_since === null && r.state === 'running' && r.desired === 'run' && r.ready && r.endpoint !== null;
}

function endpointView(service: ServiceRow, w: WorkloadRow, r: ReplicaRow, nodeNames: ReadonlyMap<string, string>): ServiceEndpoint {
  return { replicaId: r.id, workload: w.name, index: w.service_index ?? 0, model: service.model, version: slotVersion(w), url: r.endpoint!, node: nodeNames.get(r.node_id) ?? r.node_id };
}

function slotView(w: WorkloadRow, r: ReplicaRow | undefined, nodeNames: ReadonlyMap<string, string>): Service['replicaStatus'][number] {
  return {
    index: w.service_index ?? 0,
    workload: w.name,
    version: slotVersion(w),
    state: w.state,
    draining: w.draining_since !== null,
    node: r ? (nodeNames.get(r.node_id) ?? r.node_id) : null,
    url: r?.endpoint ?? null,
    ready: r !== undefined && isServing(w, r),
    restarts: Math.max(0, w.attempts - 1),
    reason: w.reason,
  };
}
