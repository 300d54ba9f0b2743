import { isDeepStrictEqual } from 'node:util';
import { ApiError } from '../../core/errors.js';
import { newId, idPrefixes } from '../../core/ids.js';
import type { ApplyResult } from '../../core/api-types.js';
import { resolveServiceReplicaRequest, type Service, type ServiceEndpoint, type ServicePut, type ServiceSpec } from '../../core/service-types.js';
import { listTeams } from '../../store/teams-repo.js';
import { listQueues } from '../../store/queues-repo.js';
import { listNodes } from '../../store/nodes-repo.js';
import { insertWorkload, updateWorkloadAt } from '../../store/workloads-repo.js';
import { findServiceByName, insertService, listCurrentReplicas, listServiceWorkloads, listServices, updateServiceAt } from '../../store/services-repo.js';
import { insertEvents, type NewEvent } from '../../store/events-repo.js';
import { inTransaction, isUniqueViolation } from '../../store/transaction.js';
import type { Db } from '../../store/db.js';
import type { ReplicaRow, ServiceRow, WorkloadRow } from '../../store/schema.js';
import type { ControlContext } from '../context.js';
import type { UserPrincipal } from '../http/principal.js';
import { topics } from '../wakeups.js';
import { stopWorkloadReplicas } from './replica-lifecycle.js';
import { pendingWorkloadRow } from './workload-rows.js';
import type { WorkloadService } from './workload-service.js';

/**
 * Services: apply keeps a service's slots (one workload each) in line with its spec. A change of
 * replicas adds or stops the slots above the count; any other change of the spec replaces every
 * slot at once (rolling updates come with rollouts).
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
        let outcome: ApplyResult;
        let nodeIds: string[] = [];
        if (!existing) {
          const row = await insertService(tx, { id: newId(idPrefixes.service), name, team_id: team.id, queue_id: queue.id, model: spec.model, model_version: spec.version, replicas: spec.replicas, spec: JSON.stringify(spec) });
          await this.addSlots(tx, row, [], events);
          events.push({ actor: user.name, kind: 'service.created', targetKind: 'service', targetId: row.id, message: `service ${name} created: ${spec.model} ${spec.version} × ${spec.replicas}` });
          outcome = 'created';
        } else {
          const sameTemplate = existing.queue_id === queue.id && isDeepStrictEqual(template(existing.spec), template(spec));
          if (sameTemplate && existing.replicas === spec.replicas) return 'unchanged';
          const row = await updateServiceAt(tx, existing.id, existing.version, { queue_id: queue.id, model: spec.model, model_version: spec.version, replicas: spec.replicas, spec: JSON.stringify(spec) });
          if (!row) throw new ApiError('version_conflict', `service ${name} changed while being applied; try again`);
          const slots = await listServiceWorkloads(tx, [row.id]);
          const stale = sameTemplate ? slots.filter((w) => (w.service_index ?? 0) >= spec.replicas) : slots;
          nodeIds = await this.stopSlots(tx, stale, sameTemplate ? `scaled to ${spec.replicas}` : 'replaced by a new spec');
          await this.addSlots(tx, row, slots.filter((w) => !stale.includes(w)), events);
          events.push({ actor: user.name, kind: sameTemplate ? 'service.scaled' : 'service.updated', targetKind: 'service', targetId: row.id, message: `service ${name} ${sameTemplate ? `scaled to ${spec.replicas}` : `updated: ${spec.model} ${spec.version} × ${spec.replicas}, every replica replaced`}` });
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

  /** Creates the slots below the replica count that `kept` does not fill. */
  private async addSlots(tx: Db, service: ServiceRow, kept: WorkloadRow[], events: NewEvent[]): Promise<void> {
    const spec = service.spec as ServiceSpec;
    const filled = new Set(kept.map((w) => w.service_index));
    const request = resolveServiceReplicaRequest(spec);
    for (let index = 0; index < service.replicas; index++) {
      if (filled.has(index)) continue;
      const row = await insertWorkload(
        tx,
        pendingWorkloadRow({
          id: newId(idPrefixes.workload),
          name: `${service.name}.${index}`,
          teamId: service.team_id,
          queueId: service.queue_id,
          request,
          spec: {
            command: spec.command,
            env: spec.env,
            workdir: spec.workdir ?? null,
            gracePeriodSeconds: spec.gracePeriodSeconds,
            service: { model: spec.model, version: spec.version, port: spec.port === 'auto' ? null : spec.port, readinessPath: spec.readiness.path },
          },
          service: { id: service.id, index },
        }),
      );
      events.push({ actor: 'system', kind: 'workload.submitted', targetKind: 'workload', targetId: row.id, message: `${row.name} created for service ${service.name}` });
    }
  }

  /** Cancels slots; their processes get SIGTERM, then SIGKILL. Returns the nodes to wake. */
  private async stopSlots(tx: Db, slots: WorkloadRow[], why: string): Promise<string[]> {
    const nodeIds: string[] = [];
    for (const w of slots) {
      const done = await updateWorkloadAt(tx, w.id, w.version, { state: 'cancelled', reason: why, finished_at: this.ctx.now() });
      if (!done) throw new ApiError('version_conflict', `replica ${w.name} changed meanwhile; try again`);
      nodeIds.push(...(await stopWorkloadReplicas(tx, w.id)));
    }
    return nodeIds;
  }

  async delete(user: UserPrincipal, name: string, teamName: string | undefined): Promise<void> {
    const team = await this.workloads.resolveTeam(this.ctx.db, user, teamName);
    const nodeIds = await inTransaction(this.ctx.db, async (tx) => {
      const service = await findServiceByName(tx, team.id, name);
      if (!service) throw new ApiError('not_found', `service ${name} not found in team ${team.name}`);
      const deleted = await updateServiceAt(tx, service.id, service.version, { deleted_at: this.ctx.now() });
      if (!deleted) throw new ApiError('version_conflict', `service ${name} changed while being deleted; try again`);
      const nodes = await this.stopSlots(tx, await listServiceWorkloads(tx, [service.id]), `service ${name} deleted`);
      await insertEvents(tx, [{ actor: user.name, kind: 'service.deleted', targetKind: 'service', targetId: service.id, message: `service ${name} deleted` }]);
      return nodes;
    });
    this.ctx.wakeups.wake([...nodeIds.map(topics.node), topics.schedule]);
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
        replicaStatus,
        resourceVersion: row.version,
        createdAt: row.created_at.toISOString(),
        updatedAt: row.updated_at.toISOString(),
      };
    });
  }
}

/** Everything of a spec but the replica count: what, when changed, replaces every replica. */
function template(spec: ServiceSpec): unknown {
  const { replicas: _replicas, ...rest } = spec;
  // As stored: JSON drops undefined fields (and jsonb reorders keys, which the comparison ignores).
  return JSON.parse(JSON.stringify(rest));
}

/** A replica takes traffic while it runs, is wanted, and its readiness probe answers. */
function isServing(w: WorkloadRow, r: ReplicaRow): boolean {
  return w.state === 'running' && r.state === 'running' && r.desired === 'run' && r.ready && r.endpoint !== null;
}

function endpointView(service: ServiceRow, w: WorkloadRow, r: ReplicaRow, nodeNames: ReadonlyMap<string, string>): ServiceEndpoint {
  return { replicaId: r.id, workload: w.name, index: w.service_index ?? 0, model: service.model, version: service.model_version, url: r.endpoint!, node: nodeNames.get(r.node_id) ?? r.node_id };
}

function slotView(w: WorkloadRow, r: ReplicaRow | undefined, nodeNames: ReadonlyMap<string, string>): Service['replicaStatus'][number] {
  return {
    index: w.service_index ?? 0,
    workload: w.name,
    state: w.state,
    node: r ? (nodeNames.get(r.node_id) ?? r.node_id) : null,
    url: r?.endpoint ?? null,
    ready: r !== undefined && isServing(w, r),
    restarts: Math.max(0, w.attempts - 1),
    reason: w.reason,
  };
}
