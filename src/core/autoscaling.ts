import { z } from 'zod';

/**
 * Autoscaling of a service's replica count: the pure decision. The control plane samples the
 * replicas' metrics every tick and applies what `decideReplicas` returns; everything it needs to
 * remember between ticks is in `AutoscaleMemory`.
 */
export const autoscalingMetrics = ['in-flight', 'queue-depth', 'kv-cache'] as const;
export type AutoscalingMetric = (typeof autoscalingMetrics)[number];

export const autoscalingSchema = z
  .strictObject({
    min: z.number().int().min(0).max(256).default(1).describe('Fewest replicas; 0 allows scale to zero after scaleToZeroAfterSeconds idle'),
    max: z.number().int().min(1).max(256).describe('Most replicas'),
    target: z.number().positive().max(1_000_000).describe('Wanted value of the metric per ready replica (kv-cache: a fraction, 0–1)'),
    metric: z
      .enum(autoscalingMetrics)
      .default('in-flight')
      .describe('in-flight: running + waiting requests; queue-depth: waiting requests; kv-cache: share of the KV cache in use. Read from the replica\'s /metrics under vLLM\'s, SGLang\'s or TGI\'s names (TGI reports no KV-cache share)'),
    scaleUpWindowSeconds: z.number().min(0).max(3600).default(0).describe('Scale up to the lowest count recommended over this window (0: at once)'),
    scaleDownWindowSeconds: z.number().min(0).max(86_400).default(300).describe('Scale down to the highest count recommended over this window'),
    scaleToZeroAfterSeconds: z.number().min(1).max(86_400).default(300).describe('With min 0: no request for this long scales to zero'),
    warmupSeconds: z.number().min(1).max(3600).default(600).describe('A new replica not ready after this long no longer holds back further scale-ups'),
  })
  .refine((a) => a.min <= a.max, { path: ['min'], message: 'must not exceed max' })
  .refine((a) => a.metric !== 'kv-cache' || a.target <= 1, { path: ['target'], message: 'kv-cache is a fraction: at most 1' });
export type Autoscaling = z.infer<typeof autoscalingSchema>;

/** Differences under this share of the target keep the count (Kubernetes' HPA uses the same 10 %). */
export const autoscaleTolerance = 0.1;

export interface AutoscaleMemory {
  /** Recommendations of earlier ticks, oldest first (kept as long as the longer window). */
  history: Array<{ at: number; replicas: number }>;
  /** Last time a request was seen (in flight, waiting, finished since the last tick, or held at a gateway). */
  lastActiveAt: number;
}

export interface AutoscaleInput {
  now: number;
  spec: Autoscaling;
  /** The service's replica count now. */
  current: number;
  /** The metric of each ready replica. */
  samples: readonly number[];
  /** Replicas wanted but not ready yet that started less than warmupSeconds ago. */
  warming: number;
  /** Requests seen since the last tick anywhere (replicas or gateways). */
  active: boolean;
  /** Requests gateways hold for want of a replica. */
  heldAtGateways: number;
  /** When the count last changed (ms); the idle clock starts no earlier. */
  scaledAt: number;
}

export interface AutoscaleDecision {
  replicas: number;
  /** Why, for events and logs. */
  reason: string;
  memory: AutoscaleMemory;
}

export function initialMemory(now: number): AutoscaleMemory {
  return { history: [], lastActiveAt: now };
}

export function decideReplicas(input: AutoscaleInput, memory: AutoscaleMemory): AutoscaleDecision {
  const { now, spec, current } = input;
  const lastActiveAt = input.active || input.heldAtGateways > 0 ? now : memory.lastActiveAt;
  const keep = Math.max(spec.scaleUpWindowSeconds, spec.scaleDownWindowSeconds) * 1000;
  const history = memory.history.filter((h) => h.at >= now - keep);
  const done = (replicas: number, reason: string, recommended?: number): AutoscaleDecision => ({
    replicas,
    reason,
    memory: { lastActiveAt, history: recommended === undefined ? history : [...history, { at: now, replicas: recommended }] },
  });

  if (current === 0) {
    if (input.heldAtGateways > 0) return done(Math.max(1, spec.min), `cold start: ${input.heldAtGateways} request(s) held at the gateway`);
    if (spec.min === 0) return done(0, 'scaled to zero');
  }
  const floor = Math.max(spec.min, 1);
  if (current > spec.max) return done(spec.max, `above max ${spec.max}`);
  if (current < floor) return done(floor, `below min ${floor}`);
  const idleMs = now - Math.max(lastActiveAt, input.scaledAt);
  if (spec.min === 0 && current > 0 && idleMs >= spec.scaleToZeroAfterSeconds * 1000) return done(0, `no request for ${Math.round(idleMs / 1000)} s`);

  const load = input.samples.reduce((a, b) => a + b, 0);
  const ready = input.samples.length;
  let raw = current;
  if (ready > 0) {
    const perReplica = load / ready;
    raw = Math.abs(perReplica / spec.target - 1) <= autoscaleTolerance ? ready : Math.ceil(load / spec.target);
    // Replicas still warming up carry no load yet; never recommend fewer than are wanted on their account.
    if (raw < current && input.warming > 0) raw = Math.max(raw, ready + input.warming);
  }
  raw = Math.min(spec.max, Math.max(floor, raw));
  const what = `${spec.metric} ${round(load)} over ${ready} ready replica(s), target ${spec.target} each`;

  if (raw > current) {
    if (input.warming > 0) return done(current, `${what}: waiting for ${input.warming} replica(s) to become ready before scaling further`, raw);
    const window = history.filter((h) => h.at >= now - spec.scaleUpWindowSeconds * 1000);
    const replicas = Math.min(raw, ...window.map((h) => Math.max(h.replicas, current)));
    return done(replicas, `${what}: scale up`, raw);
  }
  if (raw < current) {
    const window = history.filter((h) => h.at >= now - spec.scaleDownWindowSeconds * 1000);
    const replicas = Math.max(raw, ...window.map((h) => Math.min(h.replicas, current)));
    return done(replicas, replicas < current ? `${what}: scale down` : `${what}: holding for the scale-down window`, raw);
  }
  return done(Math.min(spec.max, Math.max(floor, current)), what, raw);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
