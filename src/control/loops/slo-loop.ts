import { changesBefore } from '../../core/slo/burn-rate.js';
import { SloMonitor, historyMs, type SloTransition } from '../../core/slo/monitor.js';
import type { ServiceSpec } from '../../core/service-types.js';
import { insertEvents, listEvents, targetNames } from '../../store/events-repo.js';
import { listGatewayReports } from '../../store/gateway-reports-repo.js';
import { listServices } from '../../store/services-repo.js';
import { insertSloBuckets, listFiringAlerts, listSloBuckets, pruneSloBuckets } from '../../store/slo-repo.js';
import type { ControlContext } from '../context.js';
import { IntervalDuty } from './interval-duty.js';
import { WebhookDelivery } from '../services/webhook-delivery.js';

const hourMs = 3_600_000;

/**
 * Evaluates the services' SLOs from the gateways' reports every `sloIntervalMs` (docs/slo.md): an
 * alert that starts or stops firing is an event (`alert.firing`, `alert.resolved`) carrying the
 * changes to the service, its nodes and its queue in the hour before, and is posted to every
 * `--alert-webhook`. The burn history is stored (`slo_buckets`) and which alerts fire is in the
 * events, so a new leader goes on where the last one stopped: it neither raises an alert again nor
 * forgets one that is firing.
 */
export class SloLoop {
  /** Read from the database at the first tick of each lead: another leader may have been at work meanwhile. */
  private monitor: SloMonitor | undefined;
  private readonly duty: IntervalDuty;
  private readonly webhooks: WebhookDelivery;

  constructor(private readonly ctx: ControlContext) {
    this.duty = new IntervalDuty(ctx.config.sloIntervalMs, () => this.tick(), (err) => ctx.logger.error({ err }, 'SLO evaluation failed; retrying on the next tick'));
    this.webhooks = new WebhookDelivery(ctx.logger, ctx.metrics.alertWebhookDeliveries);
  }

  start(): void {
    this.monitor = undefined;
    this.duty.start();
  }

  async stop(): Promise<void> {
    await this.duty.stop();
    await this.webhooks.stop();
  }

  async tick(): Promise<void> {
    const now = this.ctx.now();
    const [services, reports] = await Promise.all([listServices(this.ctx.db), listGatewayReports(this.ctx.db, new Date(now.getTime() - 3 * this.ctx.config.sloIntervalMs))]);
    const monitored = services.flatMap((s) => {
      const slo = (s.spec as ServiceSpec).slo;
      return slo === undefined ? [] : [{ id: s.id, name: s.name, model: s.model, slo, queueId: s.queue_id }];
    });
    const since = new Date(now.getTime() - historyMs());
    this.monitor ??= new SloMonitor(undefined, { buckets: await listSloBuckets(this.ctx.db, since), firing: await listFiringAlerts(this.ctx.db) });
    const { transitions, buckets } = this.monitor.observe(now.getTime(), monitored, reports);
    // Stored before any alert is raised: a leader that dies in between leaves a successor that raises it.
    await insertSloBuckets(this.ctx.db, buckets);
    await pruneSloBuckets(this.ctx.db, since);
    for (const t of transitions) await this.raise(t, monitored.find((s) => s.id === t.serviceId)!.queueId);
  }

  private async raise(t: SloTransition, queueId: string): Promise<void> {
    const db = this.ctx.db;
    const nodeIds = (await db.selectFrom('replicas').innerJoin('workloads', 'workloads.id', 'replicas.workload_id').select('replicas.node_id').distinct().where('workloads.service_id', '=', t.serviceId).where('replicas.created_at', '>', new Date(t.at - hourMs)).execute()).map((r) => r.node_id);
    const recent = await listEvents(db, { since: new Date(t.at - hourMs), limit: 1000 });
    const names = await targetNames(db, recent);
    const changes = changesBefore(recent.map((e) => ({ ...e, at: e.at.getTime(), targetKind: e.target_kind, targetId: e.target_id })), { serviceId: t.serviceId, nodeIds, queueId }, t.at)
      .filter((e) => !e.kind.startsWith('alert.'))
      .map((e) => ({ at: new Date(e.at).toISOString(), actor: e.actor, kind: e.kind, target: `${e.targetKind}/${names.get(`${e.targetKind}/${e.targetId}`) ?? e.targetId}`, message: e.message }));
    const what = t.objective === 'availability' ? `availability ${t.target}` : `TTFT objective (${t.target} within threshold)`;
    const alert = {
      service: t.service,
      objective: t.objective,
      target: t.target,
      severity: t.severity,
      state: t.state,
      at: new Date(t.at).toISOString(),
      longBurn: t.longBurn,
      shortBurn: t.shortBurn,
      changes,
    };
    await insertEvents(db, [
      {
        actor: 'slo',
        kind: `alert.${t.state}`,
        targetKind: 'service',
        targetId: t.serviceId,
        message: `${t.severity}: service ${t.service} ${t.state === 'firing' ? 'is burning' : 'stopped burning'} its ${what} error budget (${t.longBurn.toFixed(1)}× long, ${t.shortBurn.toFixed(1)}× short); ${changes.length} change(s) in the hour before`,
        data: alert,
      },
    ]);
    // Retried in the background: a slow or failing receiver must not hold up the next evaluation.
    for (const url of this.ctx.config.alertWebhooks) this.webhooks.send(url, alert);
  }
}
