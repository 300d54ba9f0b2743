import { histogramQuantile, type CumulativeHistogram, type VersionCounters } from './gateway-report.js';
import type { RolloutSpec, RolloutState, VersionWindow } from './rollout-types.js';

/**
 * The pure decision of a rollout's next move, from what the gateways counted for the stable and
 * the new version in the current step's window. A bad new version is rolled back as soon as it
 * has answered `minRequests`, without waiting for the step to end.
 */
export type RolloutDecision =
  | { action: 'wait'; message: string; restartClock: boolean }
  | { action: 'step'; step: number; weight: number; message: string }
  | { action: 'promote'; message: string }
  | { action: 'rollback'; message: string };

export interface RolloutInput {
  now: number;
  spec: RolloutSpec;
  state: RolloutState;
  canaryWanted: number;
  canaryReady: number;
  /** The most consecutive ends of any of the new version's replicas. */
  canaryRestarts: number;
  stable: VersionWindow;
  canary: VersionWindow;
}

export function windowOf(counters: VersionCounters | undefined): VersionWindow {
  if (counters === undefined) return { requests: 0, errors: 0, errorRate: null, ttftP95Ms: null, ttftSamples: 0, itlP95Ms: null, itlSamples: 0 };
  return {
    requests: counters.requests,
    errors: counters.errors,
    errorRate: counters.requests > 0 ? counters.errors / counters.requests : null,
    ttftP95Ms: p95Ms(counters.ttft),
    ttftSamples: counters.ttft.counts.at(-1) ?? 0,
    itlP95Ms: counters.itl ? p95Ms(counters.itl) : null,
    itlSamples: counters.itl?.counts.at(-1) ?? 0,
  };
}

function p95Ms(h: CumulativeHistogram): number | null {
  const p95 = histogramQuantile(0.95, h.le, h.counts);
  return p95 === undefined ? null : p95 * 1000;
}

/** Why the new version is worse than the stable one, or undefined when it is not (yet) judged worse. */
export function judge(spec: RolloutSpec, canary: VersionWindow, stable: VersionWindow | null): string | undefined {
  if (canary.requests >= spec.minRequests && canary.errorRate !== null) {
    const base = stable !== null && stable.requests >= spec.minRequests && stable.errorRate !== null ? stable.errorRate : 0;
    if (canary.errorRate > base + spec.maxErrorRateIncrease)
      return `error rate ${pct(canary.errorRate)} against ${pct(base)} for the stable version (allowed: +${pct(spec.maxErrorRateIncrease)})`;
  }
  if (stable === null) return undefined;
  return (
    slower('TTFT p95', spec.minRequests, canary.ttftP95Ms, canary.ttftSamples, stable.ttftP95Ms, stable.ttftSamples, spec.maxTtftP95Ratio, spec.ttftP95ToleranceMs) ??
    slower('inter-token latency p95', spec.minRequests, canary.itlP95Ms, canary.itlSamples, stable.itlP95Ms, stable.itlSamples, spec.maxItlP95Ratio, spec.itlP95ToleranceMs)
  );
}

/** Why the new version's latency is too far above the stable one's, once both have enough samples. */
function slower(what: string, minSamples: number, canaryMs: number | null, canarySamples: number, stableMs: number | null, stableSamples: number, ratio: number, toleranceMs: number): string | undefined {
  if (canaryMs === null || stableMs === null || canarySamples < minSamples || stableSamples < minSamples) return undefined;
  const allowed = stableMs * ratio + toleranceMs;
  return canaryMs > allowed ? `${what} ${ms(canaryMs)} against ${ms(stableMs)} for the stable version (allowed: ${ms(allowed)})` : undefined;
}

export function decideRollout(input: RolloutInput): RolloutDecision {
  const { spec, state, canary } = input;
  const comparison = input.stable.requests >= spec.minRequests ? input.stable : state.stableReference;
  // A promotion asked for by a person is not judged again, only waited for.
  const worse = state.promoteRequestedBy ? undefined : judge(spec, canary, comparison);
  if (worse !== undefined) return { action: 'rollback', message: `${state.canaryVersion} rolled back: ${worse}` };
  if (input.canaryRestarts >= spec.maxRestarts) return { action: 'rollback', message: `${state.canaryVersion} rolled back: a replica ended ${input.canaryRestarts} times in a row` };
  if (input.canaryReady < input.canaryWanted) {
    const waitedMs = state.waitingSince === null ? 0 : input.now - Date.parse(state.waitingSince);
    if (waitedMs >= spec.readyTimeoutSeconds * 1000)
      return { action: 'rollback', message: `${state.canaryVersion} rolled back: ${input.canaryReady}/${input.canaryWanted} replicas ready after ${Math.round(waitedMs / 1000)} s` };
    return { action: 'wait', restartClock: true, message: `waiting for ${state.canaryVersion}'s replicas (${input.canaryReady}/${input.canaryWanted} ready)` };
  }
  if (state.promoteRequestedBy) return { action: 'promote', message: `${state.canaryVersion} promoted by ${state.promoteRequestedBy} once its replicas were ready` };
  if (state.step < 0) return { action: 'step', step: 0, weight: state.steps[0]!, message: `${state.canaryVersion} ready: ${state.steps[0]} % of traffic` };
  const heldMs = input.now - Date.parse(state.stepStartedAt);
  const stepName = `step ${state.step + 1}/${state.steps.length} (${state.weight} %)`;
  if (heldMs < spec.stepSeconds * 1000) return { action: 'wait', restartClock: false, message: `${stepName}: held ${Math.floor(heldMs / 1000)} of ${spec.stepSeconds} s` };
  if (canary.requests < spec.minRequests)
    return { action: 'wait', restartClock: false, message: `${stepName}: ${state.canaryVersion} answered ${canary.requests} of the ${spec.minRequests} requests needed to judge it` };
  const healthy = `${canary.requests} requests, error rate ${pct(canary.errorRate ?? 0)}${canary.ttftP95Ms === null ? '' : `, TTFT p95 ${ms(canary.ttftP95Ms)}`}${canary.itlP95Ms === null ? '' : `, inter-token p95 ${ms(canary.itlP95Ms)}`}`;
  const next = state.step + 1;
  if (next >= state.steps.length) return { action: 'promote', message: `${state.canaryVersion} promoted: ${healthy}` };
  return { action: 'step', step: next, weight: state.steps[next]!, message: `${stepName} healthy (${healthy}): ${state.steps[next]} % of traffic` };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

function ms(x: number): string {
  return `${Math.round(x)} ms`;
}
