import { ApiError } from '../../core/errors.js';
import { newId, idPrefixes } from '../../core/ids.js';
import { resolveJobRequest, type Explanation, type LogsPage, type WorkloadEvent, type Workload, type WorkloadSubmit } from '../../core/api-types.js';
import { assertWorkloadTransition, isTerminalWorkloadState, type WorkloadState } from '../../core/workload-state.js';
import { isActiveReplicaState } from '../../core/replica-state.js';
import { getTeamById, getTeamByName, listTeams } from '../../store/teams-repo.js';
import { getQueueByName, listQueues } from '../../store/queues-repo.js';
import { findWorkloadByName, getWorkload, insertWorkload, listWorkloads, listWorkloadsNamed, updateWorkloadAt } from '../../store/workloads-repo.js';
import { listReplicasOfWorkloads, updateReplicaAt } from '../../store/replicas-repo.js';
import { bumpAssignmentRevision, listNodes } from '../../store/nodes-repo.js';
import { readLogChunks } from '../../store/logs-repo.js';
import { getClusterByName } from '../../store/clusters-repo.js';
import { insertEvents, listEventsFor } from '../../store/events-repo.js';
import { inTransaction, isUniqueViolation } from '../../store/transaction.js';
import type { Db } from '../../store/db.js';
import type { WorkloadRow } from '../../store/schema.js';
import type { ControlContext } from '../context.js';
import { canAccessTeam, type UserPrincipal } from '../http/principal.js';
import { workloadView } from '../views.js';
import { pendingWorkloadRow } from './workload-rows.js';
import { topics } from '../wakeups.js';
import { addLogFields } from '../../observe/log-context.js';

const idPattern = new RegExp(`^${idPrefixes.workload}-[0-9a-z]{10}$`);

export class WorkloadService {
  constructor(private readonly ctx: ControlContext) {}

  async resolveTeam(db: Db, user: UserPrincipal, teamName: string | undefined) {
    if (user.role !== 'admin') {
      if (teamName !== undefined && teamName !== user.teamName)
        throw new ApiError('forbidden', `your token belongs to team ${user.teamName}; it cannot act for team ${teamName}`);
      const team = user.teamId ? await getTeamById(db, user.teamId) : undefined;
      if (!team) throw new ApiError('forbidden', 'your token has no team');
      return team;
    }
    const name = teamName ?? 'default';
    const team = await getTeamByName(db, name);
    if (!team) throw new ApiError('unprocessable', `team ${name} does not exist`, { issues: [{ path: 'team', message: 'no such team' }] });
    return team;
  }

  /** The queue named, else the team's queue called `default`, else its only queue. */
  async resolveQueue(db: Db, team: { id: string; name: string }, queueName: string | undefined) {
    if (queueName !== undefined) {
      const queue = await getQueueByName(db, queueName);
      if (!queue) throw new ApiError('unprocessable', `queue ${queueName} does not exist`, { issues: [{ path: 'queue', message: 'no such queue' }] });
      if (queue.team_id !== team.id)
        throw new ApiError('unprocessable', `queue ${queueName} does not belong to team ${team.name}`, { issues: [{ path: 'queue', message: 'belongs to another team' }] });
      return queue;
    }
    const queues = await listQueues(db, team.id);
    const chosen = queues.find((q) => q.name === 'default') ?? (queues.length === 1 ? queues[0] : undefined);
    if (!chosen)
      throw new ApiError('unprocessable', `team ${team.name} has ${queues.length === 0 ? 'no queue' : 'several queues'}; name one with "queue"`, {
        issues: [{ path: 'queue', message: 'required' }],
      });
    return chosen;
  }

  async submit(user: UserPrincipal, input: WorkloadSubmit): Promise<Workload> {
    const db = this.ctx.db;
    const team = await this.resolveTeam(db, user, input.team);
    const queue = await this.resolveQueue(db, team, input.queue);
    if (input.cluster !== undefined && !(await getClusterByName(db, input.cluster)))
      throw new ApiError('unprocessable', `cluster ${input.cluster} does not exist`, { issues: [{ path: 'cluster', message: 'no such cluster' }] });
    const name = input.name ?? newId('job', 6);
    const req = resolveJobRequest(input);
    let row: WorkloadRow;
    try {
      row = await inTransaction(db, async (tx) => {
        const inserted = await insertWorkload(
          tx,
          pendingWorkloadRow({
            id: newId(idPrefixes.workload),
            name,
            teamId: team.id,
            queueId: queue.id,
            request: req,
            spec: { command: input.command, env: input.env, workdir: input.workdir ?? null, gracePeriodSeconds: input.gracePeriodSeconds },
          }),
        );
        await insertEvents(tx, [
          { actor: user.name, kind: 'workload.submitted', targetKind: 'workload', targetId: inserted.id, message: `${name} submitted to queue ${queue.name}` },
        ]);
        return inserted;
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ApiError('conflict', `a workload named ${name} is already active in team ${team.name}`, { issues: [{ path: 'name', message: 'already in use' }] });
      throw err;
    }
    addLogFields({ workload_id: row.id });
    this.ctx.metrics.submitted.inc();
    this.ctx.wakeups.wake([topics.schedule]);
    return workloadView(row, { team: team.name, queue: queue.name }, [], new Map());
  }

  /** Finds a workload by id, or by name in the caller's team (admins: in `teamName`, default `default`). */
  async find(db: Db, user: UserPrincipal, ref: string, teamName?: string): Promise<WorkloadRow> {
    let row: WorkloadRow | undefined;
    if (idPattern.test(ref)) row = await getWorkload(db, ref);
    if (!row) {
      const team = teamName !== undefined || user.role !== 'admin' ? await this.resolveTeam(db, user, teamName).catch(() => undefined) : await getTeamByName(db, 'default');
      if (team) row = await findWorkloadByName(db, team.id, ref);
      // An admin naming a workload without a team: look across teams if the name is unique.
      if (!row && user.role === 'admin' && teamName === undefined) {
        const matches = await listWorkloadsNamed(db, ref);
        const teams = new Set(matches.map((w) => w.team_id));
        if (teams.size > 1) throw new ApiError('conflict', `several teams have a workload named ${ref}; add --team`);
        row = matches[0];
      }
    }
    if (!row || !canAccessTeam(user, row.team_id)) throw new ApiError('not_found', `workload ${ref} not found`);
    addLogFields({ workload_id: row.id });
    return row;
  }

  async views(rows: WorkloadRow[]): Promise<Workload[]> {
    const db = this.ctx.db;
    const [teams, queues, nodes, replicas] = await Promise.all([
      listTeams(db),
      listQueues(db),
      listNodes(db),
      listReplicasOfWorkloads(db, rows.map((r) => r.id)),
    ]);
    const teamNames = new Map(teams.map((t) => [t.id, t.name]));
    const queueNames = new Map(queues.map((q) => [q.id, q.name]));
    const nodeNames = new Map(nodes.map((n) => [n.id, n.name]));
    // The replicas of the current generation tell where the workload runs or last ran.
    const current = new Map<string, (typeof replicas)[number][]>();
    for (const r of replicas) current.set(r.workload_id, [...(current.get(r.workload_id) ?? []), r]);
    return rows.map((row) =>
      workloadView(
        row,
        { team: teamNames.get(row.team_id) ?? row.team_id, queue: queueNames.get(row.queue_id) ?? row.queue_id },
        (current.get(row.id) ?? []).filter((r) => r.generation === row.generation),
        nodeNames,
      ),
    );
  }

  /** Why a workload is where it is: the scheduler's ranked reasons while it waits, else what ended or stopped it. */
  async explain(user: UserPrincipal, ref: string, teamName?: string): Promise<Explanation> {
    const row = await this.find(this.ctx.db, user, ref, teamName);
    const reasons =
      row.state === 'pending' && row.reasons.length > 0
        ? row.reasons
        : row.reason !== null
          ? [row.reason]
          : row.state === 'running' || row.state === 'admitted'
            ? [`${row.state}${row.replicas > 1 ? ` (${row.replicas} replicas)` : ''}`]
            : [];
    return { id: row.id, workload: row.name, state: row.state, reasons };
  }

  async events(user: UserPrincipal, ref: string, teamName?: string): Promise<WorkloadEvent[]> {
    const row = await this.find(this.ctx.db, user, ref, teamName);
    return (await listEventsFor(this.ctx.db, 'workload', row.id)).map((e) => ({ id: Number(e.id), at: e.at.toISOString(), actor: e.actor, kind: e.kind, message: e.message, data: e.data }));
  }

  async get(user: UserPrincipal, ref: string, teamName?: string): Promise<Workload> {
    const [view] = await this.views([await this.find(this.ctx.db, user, ref, teamName)]);
    return view!;
  }

  async list(user: UserPrincipal, filter: { team?: string | undefined; state?: WorkloadState | undefined; all?: 'true' | 'false' | undefined; limit: number }): Promise<Workload[]> {
    let teamId: string | undefined;
    if (user.role !== 'admin') {
      if (filter.team !== undefined && filter.team !== user.teamName) return [];
      teamId = user.teamId ?? '-';
    } else if (filter.team !== undefined) {
      teamId = (await getTeamByName(this.ctx.db, filter.team))?.id ?? '-';
    }
    const rows = await listWorkloads(this.ctx.db, { teamId, state: filter.state, activeOnly: filter.all === 'false', limit: filter.limit });
    return this.views(rows);
  }

  async cancel(user: UserPrincipal, ref: string, teamName?: string): Promise<Workload> {
    // The agent may report on the same workload at that moment; a lost race is simply retried.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.cancelOnce(user, ref, teamName);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'version_conflict') || attempt >= 5) throw err;
      }
    }
  }

  private async cancelOnce(user: UserPrincipal, ref: string, teamName?: string): Promise<Workload> {
    const nodes = await inTransaction(this.ctx.db, async (tx) => {
      const row = await this.find(tx, user, ref, teamName);
      if (isTerminalWorkloadState(row.state)) throw new ApiError('invalid_state', `workload ${row.name} is already finished (${row.state})`);
      if (row.service_id !== null) throw new ApiError('invalid_state', `${row.name} is a replica of a service; scale or delete the service instead`);
      assertWorkloadTransition(row.state, 'cancelled');
      const now = this.ctx.now();
      const updated = await updateWorkloadAt(tx, row.id, row.version, { state: 'cancelled', reason: `cancelled by ${user.name}`, finished_at: now });
      if (!updated) throw new ApiError('version_conflict', `workload ${row.name} changed while being cancelled; try again`);
      const replicas = (await listReplicasOfWorkloads(tx, [row.id])).filter((r) => isActiveReplicaState(r.state));
      for (const r of replicas) await updateReplicaAt(tx, r.id, r.version, { desired: 'stop', state: r.state === 'assigned' ? 'assigned' : 'stopping' });
      const nodeIds = replicas.map((r) => r.node_id);
      await bumpAssignmentRevision(tx, nodeIds);
      await insertEvents(tx, [{ actor: user.name, kind: 'workload.cancelled', targetKind: 'workload', targetId: row.id, message: `${row.name} cancelled` }]);
      return nodeIds;
    });
    this.ctx.metrics.finished.inc({ state: 'cancelled' });
    // The request's log context names the workload (find) and the request.
    this.ctx.logger.info({ by: user.name, replicasStopping: nodes.length }, 'workload cancelled');
    this.ctx.wakeups.wake([...nodes.map(topics.node), topics.schedule]);
    return this.get(user, ref, teamName);
  }

  async logs(user: UserPrincipal, ref: string, teamName: string | undefined, after: number, waitMs: number, signal: AbortSignal): Promise<LogsPage> {
    const row = await this.find(this.ctx.db, user, ref, teamName);
    const deadline = Date.now() + waitMs;
    for (;;) {
      // Read the state first: lines stored before a final state are then surely in this read.
      const current = (await getWorkload(this.ctx.db, row.id)) ?? row;
      const chunks = await readLogChunks(this.ctx.db, row.id, after, 1000);
      const finished = isTerminalWorkloadState(current.state) && !(await this.hasActiveReplica(row.id));
      if (chunks.length > 0 || finished || Date.now() >= deadline || signal.aborted) {
        const entries = chunks.map((c) => ({ id: c.id, replicaId: c.replica_id, stream: c.stream, data: c.data, at: c.created_at.toISOString() }));
        const cursor = entries.length > 0 ? entries[entries.length - 1]!.id : after;
        return { entries, cursor, done: finished && chunks.length < 1000 };
      }
      await this.ctx.wakeups.waitFor(topics.logs(row.id), Math.min(deadline - Date.now(), 1000), signal);
    }
  }

  private async hasActiveReplica(workloadId: string): Promise<boolean> {
    return (await listReplicasOfWorkloads(this.ctx.db, [workloadId])).some((r) => isActiveReplicaState(r.state));
  }
}
