import { z } from 'zod';
import { parseDurationSeconds } from '../core/quantities.js';
import { fieldIssues, summarizeIssues } from '../core/zod-issues.js';
import { defaultSchedulerConfig, type SchedulerConfig } from './types.js';

/**
 * The scheduler's settings as a YAML document states them: what the server's
 * `--scheduler-config FILE.yaml` and `gpufleet simulate --scheduler-config` read alike. A typo is
 * an error naming the field, never a silent default.
 */
const placementPolicy = z.enum(['binpack', 'spread', 'fragmentation']);
const durationMs = z
  .union([z.string(), z.number()])
  .refine((v) => parseDurationSeconds(v) !== null, 'must be a duration such as 24h or 90m, or a number of seconds')
  .transform((v) => parseDurationSeconds(v)! * 1000);

export const schedulerSettingsSchema = z.strictObject({
  placement: z
    .strictObject({
      default: placementPolicy.default(defaultSchedulerConfig.placement.default),
      pools: z.record(z.string().min(1), placementPolicy).default({}),
    })
    .default({ ...defaultSchedulerConfig.placement }),
  poolLabel: z.string().min(1).default(defaultSchedulerConfig.poolLabel),
  usageWeight: z.number().min(0).max(1000).default(defaultSchedulerConfig.usageWeight),
  minRuntimeMs: z.number().int().min(0).default(defaultSchedulerConfig.minRuntimeMs),
  reservations: z.number().int().min(0).max(10_000).default(defaultSchedulerConfig.reservations),
  overtakeAfterMs: z.number().int().min(0).nullable().default(defaultSchedulerConfig.overtakeAfterMs),
  consolidation: z.enum(['off', 'propose', 'apply']).default(defaultSchedulerConfig.consolidation),
  /** Half-life of past use in fair share (`24h`, or seconds). */
  fairShareHalfLife: durationMs.default(24 * 3600 * 1000),
});

export interface SchedulerSettings {
  scheduler: SchedulerConfig;
  fairShareHalfLifeMs: number;
}

export const defaultSchedulerSettings = (): SchedulerSettings => ({
  scheduler: structuredClone(defaultSchedulerConfig),
  fairShareHalfLifeMs: 24 * 3600 * 1000,
});

export class SchedulerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchedulerConfigError';
  }
}

/** Validates a parsed document (null or empty: all defaults). */
export function parseSchedulerSettings(doc: unknown, source = 'scheduler config'): SchedulerSettings {
  const result = schedulerSettingsSchema.safeParse(doc ?? {});
  if (!result.success) throw new SchedulerConfigError(`${source}: ${summarizeIssues(fieldIssues(result.error))}`);
  const { fairShareHalfLife, ...scheduler } = result.data;
  return { scheduler, fairShareHalfLifeMs: fairShareHalfLife };
}

