import { z } from 'zod';
import type { SchedulerSettings } from '../scheduler/settings.js';

/** Server settings, parsed once at start-up. Durations are in milliseconds. */
export const serverOptionsSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(7070),
  dataDir: z.string().optional(),
  databaseUrl: z.string().optional(),
  logLevel: z.string().default('info'),
  logFile: z.string().optional(),
  heartbeatIntervalMs: z.number().int().min(100).default(3000),
  nodeSuspectAfterMs: z.number().int().min(100).default(10_000),
  nodeLostAfterMs: z.number().int().min(200).default(30_000),
  schedulerIntervalMs: z.number().int().min(10).default(1000),
  healthCheckIntervalMs: z.number().int().min(10).default(1000),
  /** Autoscaling, rollouts and draining of services are looked at this often. */
  servingIntervalMs: z.number().int().min(10).default(1000),
  leaderRetryMs: z.number().int().min(50).default(2000),
  /** How often the leader reconciles each cluster's jobs with its replicas; inventory every fifth pass. */
  clusterSyncIntervalMs: z.number().int().min(50).default(1000),
  /** A YAML file of scheduler settings (scheduler-config.ts); defaults without one. */
  schedulerConfigFile: z.string().min(1).optional(),
  /** A YAML price book (docs/cost.md) for the cost and waste reports; without one nothing is priced. */
  priceBookFile: z.string().min(1).optional(),
  /** A YAML file of team budgets (docs/cost.md, "Budgets"); without one no team is held. */
  budgetsFile: z.string().min(1).optional(),
  /** How long the scheduler trusts a computed budget status before reading the spend again. */
  budgetRefreshMs: z.number().int().min(10).default(30_000),
  /** URLs that get every SLO alert as a JSON POST. */
  alertWebhooks: z.array(z.string().url()).default([]),
  /** How often the services' SLOs are evaluated from the gateways' reports. */
  sloIntervalMs: z.number().int().min(100).default(60_000),
  /** How long the agents' GPU usage windows are kept; default 30 days. */
  usageRetentionMs: z.number().int().min(60_000).default(30 * 86_400_000),
  /** OTLP/HTTP traces URL: one span per API request is exported there; no tracing without it. */
  otlpTracesUrl: z.string().url().optional(),
  /** Settings given directly (tests), instead of a file. */
  schedulerSettings: z.custom<SchedulerSettings>((v) => typeof v === 'object' && v !== null).optional(),
});

export type ServerOptions = z.input<typeof serverOptionsSchema>;
export type ServerConfig = z.output<typeof serverOptionsSchema>;
