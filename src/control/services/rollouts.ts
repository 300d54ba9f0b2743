import { ApiError } from '../../core/errors.js';
import { emptyCounters, subtractCounters, type VersionCounters } from '../../core/gateway-report.js';
import { decideRollout, windowOf, type RolloutDecision } from '../../core/rollout-decision.js';
import { rolloutSpecSchema, type RolloutState } from '../../core/rollout-types.js';
import type { Service, ServiceSpec } from '../../core/service-types.js';
import { updateServiceAt } from '../../store/services-repo.js';
import type { NewEvent } from '../../store/events-repo.js';
import type { Db } from '../../store/db.js';
import type { ServiceRow } from '../../store/schema.js';
import { reconcileSlots, serviceWants } from './service-slots.js';

/**
 * Rollouts: a change of a service's version starts one. Canary: the new version gets the steps'
 * shares of traffic (its replicas sized to match), each held for stepSeconds while the gateways'
 * counters of both versions are compared; blue-green: a full set of new replicas with no traffic,
 * then all of it at once. Promoted, the old version's replicas drain; rolled back, the new one's
 * drain and the service's spec returns to the stable one.
 */
export function startRollout(existing: ServiceRow, spec: ServiceSpec, now: Date): RolloutState {
  const policy = rolloutSpecSchema.parse(spec.rollout ?? {});
  const blueGreen = policy.strategy === 'blue-green';
  const at = now.toISOString();
  return {
    phase: 'progressing',
    strategy: policy.strategy,
    stableVersion: existing.model_version,
    canaryVersion: spec.version,
    stableSpec: existing.spec as Record<string, unknown>,
    steps: blueGreen ? [100] : policy.steps,
    step: blueGreen ? -1 : 0,
    weight: blueGreen ? 0 : policy.steps[0]!,
    startedAt: at,
    stepStartedAt: at,
    waitingSince: at,
    promoteRequestedBy: null,
    finishedAt: null,
    message: `waiting for ${spec.version}'s replicas`,
    windowStart: {},
    stable: null,
    canary: null,
    stableReference: null,
  };
}

/** Share of traffic per version, in percent. */
export function versionWeights(row: ServiceRow): Record<string, number> {
  const r = row.rollout;
  if (r?.phase !== 'progressing') return { [row.model_version]: 100 };
  return { [r.stableVersion]: 100 - r.weight, [r.canaryVersion]: r.weight };
}

export function rolloutView(state: RolloutState | null): Service['rollout'] {
  if (state === null) return null;
  const { windowStart: _w, stableSpec: _s, ...view } = state;
  return view;
}

/** What the serving loop knows of a service in rollout this tick. */
export interface RolloutObservation {
  now: Date;
  /** Per version, summed over the gateways that reported lately. */
  counters: ReadonlyMap<string, VersionCounters>;
  canaryReady: number;
  canaryRestarts: number;
}

/** One tick of a rollout: judge the window, move on, promote or roll back. Returns the nodes to wake. */
export async function advanceRollout(tx: Db, row: ServiceRow, seen: RolloutObservation, events: NewEvent[]): Promise<string[]> {
  const state = row.rollout!;
  const policy = rolloutSpecSchema.parse((row.spec as ServiceSpec).rollout ?? {});
  const current = (v: string) => seen.counters.get(v) ?? emptyCounters();
  const windowFor = (v: string) => {
    const start = state.windowStart[v];
    return start === undefined ? undefined : subtractCounters(current(v), start);
  };
  const stableCounters = windowFor(state.stableVersion);
  const canaryCounters = windowFor(state.canaryVersion);
  const freshWindow = stableCounters === undefined || canaryCounters === undefined;
  const stable = windowOf(stableCounters);
  const canary = windowOf(canaryCounters);
  const canaryWanted = serviceWants(row).find((w) => w.version === state.canaryVersion)?.count ?? 0;
  const decision: RolloutDecision = freshWindow
    ? { action: 'wait', restartClock: true, message: state.message }
    : decideRollout({ now: seen.now.getTime(), spec: policy, state, canaryWanted, canaryReady: seen.canaryReady, canaryRestarts: seen.canaryRestarts, stable, canary });
  const restart = (decision.action === 'wait' && decision.restartClock) || decision.action === 'step';
  const reference = stable.requests >= policy.minRequests ? stable : state.stableReference;
  const awaiting = seen.canaryReady < canaryWanted;
  const next: RolloutState = {
    ...state,
    waitingSince: awaiting ? (state.waitingSince ?? seen.now.toISOString()) : null,
    message: decision.message,
    stable,
    canary,
    stableReference: reference,
    ...(restart ? { stepStartedAt: seen.now.toISOString(), windowStart: { [state.stableVersion]: current(state.stableVersion), [state.canaryVersion]: current(state.canaryVersion) } } : {}),
    ...(decision.action === 'step' ? { step: decision.step, weight: decision.weight } : {}),
  };
  if (decision.action === 'promote' || decision.action === 'rollback') return finishRollout(tx, row, next, decision.action, decision.message, 'system', seen.now, events);
  if (decision.action === 'step') events.push({ actor: 'system', kind: 'rollout.step', targetKind: 'service', targetId: row.id, message: `service ${row.name}: ${decision.message}` });
  const unchanged = decision.action === 'wait' && !restart && next.waitingSince === state.waitingSince && next.message === state.message && JSON.stringify([next.stable, next.canary]) === JSON.stringify([state.stable, state.canary]);
  if (unchanged) return [];
  const updated = await updateServiceAt(tx, row.id, row.version, { rollout: JSON.stringify(next) });
  if (!updated) return [];
  return decision.action === 'step' ? reconcileSlots(tx, updated, serviceWants(updated), 'drain', `rollout of ${state.canaryVersion}`, seen.now, events) : [];
}

/** A person's promote: the new version grows to the full count, and the serving loop promotes it once ready. */
export async function requestPromotion(tx: Db, row: ServiceRow, by: string, now: Date, events: NewEvent[]): Promise<string[]> {
  const state = row.rollout!;
  const next: RolloutState = { ...state, promoteRequestedBy: by, message: `promotion requested by ${by}: waiting for ${state.canaryVersion}'s replicas` };
  const updated = await updateServiceAt(tx, row.id, row.version, { rollout: JSON.stringify(next) });
  if (!updated) throw new ApiError('version_conflict', `service ${row.name} changed meanwhile; try again`);
  events.push({ actor: by, kind: 'rollout.promote_requested', targetKind: 'service', targetId: row.id, message: `service ${row.name}: ${next.message}` });
  return reconcileSlots(tx, updated, serviceWants(updated), 'drain', `promotion of ${state.canaryVersion}`, now, events);
}

/**
 * Ends a rollout. Promote: the new version takes all traffic and the old one's replicas drain.
 * Roll back: the service returns to the stable spec and the new version's replicas drain.
 */
export async function finishRollout(tx: Db, row: ServiceRow, state: RolloutState, how: 'promote' | 'rollback', message: string, actor: string, now: Date, events: NewEvent[]): Promise<string[]> {
  const done: RolloutState = { ...state, phase: how === 'promote' ? 'promoted' : 'rolled-back', weight: how === 'promote' ? 100 : 0, message, finishedAt: now.toISOString() };
  const stableSpec = state.stableSpec as ServiceSpec;
  const updated = await updateServiceAt(tx, row.id, row.version, {
    rollout: JSON.stringify(done),
    ...(how === 'rollback' ? { spec: JSON.stringify(stableSpec), model_version: state.stableVersion } : {}),
  });
  if (!updated) throw new ApiError('version_conflict', `service ${row.name} changed meanwhile; try again`);
  events.push({ actor, kind: how === 'promote' ? 'rollout.promoted' : 'rollout.rolled_back', targetKind: 'service', targetId: row.id, message: `service ${row.name}: ${message}` });
  return reconcileSlots(tx, updated, serviceWants(updated), 'drain', how === 'promote' ? `${state.canaryVersion} promoted` : `${state.canaryVersion} rolled back`, now, events);
}
