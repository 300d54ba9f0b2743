import { Counter, Gauge, Histogram, type Registry } from '../observe/metrics.js';

export interface HttpMetrics {
  observe(method: string, route: string, status: number, seconds: number): void;
}

/** The control plane's own series; names follow Prometheus conventions (unit suffixes, _total). */
export function createServerMetrics(registry: Registry) {
  const requests = new Histogram({
    name: 'gpufleet_http_request_duration_seconds',
    help: 'API request latency by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
    registers: [registry],
  });
  return {
    http: {
      observe(method, route, status, seconds) {
        requests.observe({ method, route, status: String(status) }, seconds);
      },
    } satisfies HttpMetrics,
    schedulingCycle: new Histogram({
      name: 'gpufleet_scheduler_cycle_duration_seconds',
      help: 'Time of one scheduling cycle: snapshot, plan, apply',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    placements: new Counter({ name: 'gpufleet_scheduler_placements_total', help: 'Workloads admitted onto a node', registers: [registry] }),
    placementConflicts: new Counter({
      name: 'gpufleet_scheduler_plan_conflicts_total',
      help: 'Placements dropped because the state changed between planning and applying',
      registers: [registry],
    }),
    preemptions: new Counter({
      name: 'gpufleet_scheduler_preemptions_total',
      help: 'Workloads stopped and requeued by the scheduler, by kind (reclaim, preempt, consolidate)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    movesProposed: new Counter({
      name: 'gpufleet_scheduler_moves_proposed_total',
      help: 'Consolidation moves proposed (consolidation: propose) and not carried out',
      registers: [registry],
    }),
    pending: new Gauge({ name: 'gpufleet_workloads_pending', help: 'Workloads waiting to be admitted, at the last cycle', registers: [registry] }),
    submitted: new Counter({ name: 'gpufleet_workloads_submitted_total', help: 'Workloads submitted', registers: [registry] }),
    finished: new Counter({
      name: 'gpufleet_workloads_finished_total',
      help: 'Workloads that reached a final state',
      labelNames: ['state'],
      registers: [registry],
    }),
    requeued: new Counter({ name: 'gpufleet_workloads_requeued_total', help: 'Workloads sent back to pending', labelNames: ['reason'], registers: [registry] }),
    alertWebhookDeliveries: new Counter({
      name: 'gpufleet_alert_webhook_deliveries_total',
      help: 'Alerts POSTed to a webhook, by outcome: delivered, or failed once its tries were spent',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    leader: new Gauge({ name: 'gpufleet_scheduler_leader', help: '1 while this server runs the scheduler (holds the lead)', registers: [registry] }),
    queueWait: new Histogram({
      name: 'gpufleet_queue_wait_seconds',
      help: 'Time from submission to first admission, by queue',
      labelNames: ['queue'],
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600],
      registers: [registry],
    }),
  };
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
