import { z } from 'zod';
import { versionCountersSchema } from './gateway-report.js';

/** How a new version of a service replaces the old one (docs/services.md, "Rollouts"). */
export const rolloutSpecSchema = z
  .strictObject({
    strategy: z.enum(['canary', 'blue-green']).default('canary').describe('canary: traffic in steps; blue-green: a full set of new replicas, then all traffic at once'),
    steps: z
      .array(z.number().int().min(1).max(100))
      .min(1)
      .max(20)
      .default([10, 50, 100])
      .refine((s) => s.every((w, i) => i === 0 || w > s[i - 1]!), 'must increase')
      .refine((s) => s.at(-1) === 100, 'must end at 100')
      .describe('Canary traffic weights in percent, each held for stepSeconds (blue-green: one step of 100)'),
    stepSeconds: z.number().min(1).max(86_400).default(60).describe('How long each step is held while the new version is compared with the stable one'),
    minRequests: z.number().int().min(1).max(1_000_000).default(20).describe('Requests the new version must have answered in a step before it is judged'),
    maxErrorRateIncrease: z.number().min(0).max(1).default(0.05).describe('Roll back when the new version’s error rate exceeds the stable one’s by more than this'),
    maxTtftP95Ratio: z.number().min(1).max(100).default(1.5).describe('Roll back when the new version’s TTFT p95 exceeds the stable one’s × this + ttftP95ToleranceMs'),
    ttftP95ToleranceMs: z.number().min(0).max(60_000).default(100),
    maxItlP95Ratio: z.number().min(1).max(100).default(1.5).describe('Roll back when the new version’s inter-token latency p95 (streamed responses) exceeds the stable one’s × this + itlP95ToleranceMs'),
    itlP95ToleranceMs: z.number().min(0).max(60_000).default(10),
    maxRestarts: z.number().int().min(1).max(1000).default(3).describe('Roll back when a replica of the new version has ended this many times in a row'),
    readyTimeoutSeconds: z.number().min(1).max(86_400).default(600).describe('Roll back when the new version’s replicas are not all ready this long after they were wanted'),
  })
  .default({ strategy: 'canary', steps: [10, 50, 100], stepSeconds: 60, minRequests: 20, maxErrorRateIncrease: 0.05, maxTtftP95Ratio: 1.5, ttftP95ToleranceMs: 100, maxItlP95Ratio: 1.5, itlP95ToleranceMs: 10, maxRestarts: 3, readyTimeoutSeconds: 600 });
export type RolloutSpec = z.infer<typeof rolloutSpecSchema>;

export const rolloutPhases = ['progressing', 'promoted', 'rolled-back'] as const;
export type RolloutPhase = (typeof rolloutPhases)[number];

/** What one version did in the current step's window (or, for the stable one, the last window it had traffic). */
export const versionWindowSchema = z.object({
  requests: z.number(),
  errors: z.number(),
  errorRate: z.number().nullable(),
  ttftP95Ms: z.number().nullable(),
  ttftSamples: z.number(),
  // Windows stored before inter-token latency was compared have neither.
  itlP95Ms: z.number().nullable().default(null),
  itlSamples: z.number().default(0),
});
export type VersionWindow = z.infer<typeof versionWindowSchema>;

/** A rollout as stored on its service and shown by `gpufleet rollout status`. */
export const rolloutStateSchema = z.object({
  phase: z.enum(rolloutPhases),
  strategy: z.enum(['canary', 'blue-green']),
  stableVersion: z.string(),
  canaryVersion: z.string(),
  /** The stable version's spec, restored on a rollback. */
  stableSpec: z.record(z.string(), z.unknown()),
  steps: z.array(z.number()),
  /** Index into steps; -1 while blue-green's new replicas start (no traffic yet). */
  step: z.number().int(),
  /** The new version's share of traffic now, in percent. */
  weight: z.number(),
  startedAt: z.string(),
  stepStartedAt: z.string(),
  /** Since when the new version's replicas are awaited (null: all ready). */
  waitingSince: z.string().nullable().default(null),
  /** Who asked to promote now: the new version is sized to the full count and promoted once it is ready, unjudged. */
  promoteRequestedBy: z.string().nullable().default(null),
  finishedAt: z.string().nullable(),
  /** Why it is where it is: waiting for replicas, holding, promoted because…, rolled back because… */
  message: z.string(),
  /** Counters at the start of the step's window, per version (summed over gateways). */
  windowStart: z.record(z.string(), versionCountersSchema),
  stable: versionWindowSchema.nullable(),
  canary: versionWindowSchema.nullable(),
  /** The stable version's last window with enough requests, compared when it has no traffic now. */
  stableReference: versionWindowSchema.nullable(),
});
export type RolloutState = z.infer<typeof rolloutStateSchema>;
