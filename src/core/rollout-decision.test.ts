import { describe, expect, it } from 'vitest';
import { histogramQuantile } from './gateway-report.js';
import { decideRollout, judge, windowOf } from './rollout-decision.js';
import { rolloutSpecSchema, type RolloutState, type VersionWindow } from './rollout-types.js';

const spec = rolloutSpecSchema.parse({ stepSeconds: 30, minRequests: 20 });
const t0 = Date.parse('2026-01-01T00:00:00Z');
const state = (over: Partial<RolloutState> = {}): RolloutState => ({
  phase: 'progressing', strategy: 'canary', stableVersion: 'v1', canaryVersion: 'v2', stableSpec: {}, steps: [10, 50, 100], step: 0, weight: 10,
  startedAt: new Date(t0).toISOString(), stepStartedAt: new Date(t0).toISOString(), waitingSince: null, promoteRequestedBy: null, finishedAt: null, message: '', windowStart: {}, stable: null, canary: null, stableReference: null, ...over,
});
const win = (requests: number, errors = 0, ttftP95Ms: number | null = 50): VersionWindow => ({ requests, errors, errorRate: requests ? errors / requests : null, ttftP95Ms, ttftSamples: ttftP95Ms === null ? 0 : requests, itlP95Ms: null, itlSamples: 0 });
const input = (over: Partial<Parameters<typeof decideRollout>[0]> = {}) => ({ now: t0 + 31_000, spec, state: state(), canaryWanted: 1, canaryReady: 1, canaryRestarts: 0, stable: win(200), canary: win(25), ...over });

describe('rollout decisions', () => {
  it('holds a step for its duration, then moves to the next weight, then promotes', () => {
    expect(decideRollout(input({ now: t0 + 10_000 }))).toMatchObject({ action: 'wait', restartClock: false });
    expect(decideRollout(input())).toMatchObject({ action: 'step', step: 1, weight: 50 });
    expect(decideRollout(input({ state: state({ step: 2, weight: 100 }) }))).toMatchObject({ action: 'promote' });
  });

  it('waits for enough requests before judging, and for the new replicas (restarting the clock)', () => {
    expect(decideRollout(input({ canary: win(5) }))).toMatchObject({ action: 'wait', message: expect.stringMatching(/answered 5 of the 20/) });
    expect(decideRollout(input({ canaryReady: 0 }))).toMatchObject({ action: 'wait', restartClock: true });
  });

  it('rolls back on errors as soon as the new version has enough requests, mid-step', () => {
    const d = decideRollout(input({ now: t0 + 1000, canary: win(20, 8) }));
    expect(d).toMatchObject({ action: 'rollback' });
    expect(d.action === 'rollback' && d.message).toMatch(/error rate 40.0 % against 0.0 %/);
    // The stable version's own errors raise the bar.
    expect(judge(spec, win(100, 10), win(100, 8))).toBeUndefined();
  });

  it('rolls back on a slow TTFT p95, with a tolerance for noise', () => {
    expect(decideRollout(input({ canary: win(25, 0, 1200) }))).toMatchObject({ action: 'rollback', message: expect.stringMatching(/TTFT p95 1200 ms against 50 ms/) });
    expect(judge(spec, win(25, 0, 170), win(200, 0, 50))).toBeUndefined();
  });

  it('rolls back on a slow inter-token latency p95 of streamed responses, with its own tolerance', () => {
    const streamed = (itlP95Ms: number, samples = 500): VersionWindow => ({ ...win(25), itlP95Ms, itlSamples: samples });
    expect(decideRollout(input({ stable: streamed(20), canary: streamed(80) }))).toMatchObject({
      action: 'rollback',
      message: expect.stringMatching(/inter-token latency p95 80 ms against 20 ms for the stable version \(allowed: 40 ms\)/),
    });
    expect(judge(spec, streamed(39), streamed(20))).toBeUndefined();
    // Too few tokens streamed to judge, or a stable window stored before inter-token latency was kept: not judged.
    expect(judge(spec, streamed(80, 10), streamed(20))).toBeUndefined();
    expect(judge(spec, streamed(80), { ...win(200), itlP95Ms: null, itlSamples: 0 })).toBeUndefined();
    expect(decideRollout(input({ stable: streamed(20), canary: streamed(25) }))).toMatchObject({ action: 'step', message: expect.stringMatching(/inter-token p95 25 ms/) });
  });

  it('compares with the stable version’s last busy window when it has no traffic now', () => {
    const d = decideRollout(input({ state: state({ step: 2, weight: 100, stableReference: win(200, 0, 40) }), stable: win(0, 0, null), canary: win(30, 0, 900) }));
    expect(d.action).toBe('rollback');
  });

  it('rolls back a new version whose replicas keep ending, or are not ready in time', () => {
    expect(decideRollout(input({ canaryReady: 0, canaryRestarts: 3 }))).toMatchObject({ action: 'rollback', message: expect.stringMatching(/ended 3 times in a row/) });
    const waiting = state({ waitingSince: new Date(t0).toISOString() });
    expect(decideRollout(input({ state: waiting, canaryReady: 0, now: t0 + 599_000 })).action).toBe('wait');
    expect(decideRollout(input({ state: waiting, canaryReady: 0, now: t0 + 600_000 }))).toMatchObject({ action: 'rollback', message: expect.stringMatching(/0\/1 replicas ready after 600 s/) });
  });

  it('promotes on request once the new replicas are ready, without judging or holding', () => {
    const asked = state({ promoteRequestedBy: 'alice' });
    expect(decideRollout(input({ state: asked, canaryWanted: 3, canaryReady: 1 })).action).toBe('wait');
    expect(decideRollout(input({ state: asked, now: t0 + 1000, canaryWanted: 3, canaryReady: 3, canary: win(30, 10) }))).toMatchObject({ action: 'promote', message: expect.stringMatching(/promoted by alice/) });
  });

  it('blue-green: no traffic until every new replica is ready, then all of it', () => {
    const bg = state({ strategy: 'blue-green', steps: [100], step: -1, weight: 0 });
    expect(decideRollout(input({ state: bg, canaryWanted: 3, canaryReady: 2, canary: win(0) })).action).toBe('wait');
    expect(decideRollout(input({ state: bg, canaryWanted: 3, canaryReady: 3, canary: win(0) }))).toMatchObject({ action: 'step', step: 0, weight: 100 });
  });

  it('reads p95 from a cumulative histogram as Prometheus does', () => {
    expect(histogramQuantile(0.95, [0.1, 0.2, 0.4], [0, 100, 100, 100])).toBeCloseTo(0.195);
    expect(histogramQuantile(0.95, [0.1], [0, 10])).toBe(0.1);
    expect(histogramQuantile(0.95, [0.1], [0, 0])).toBeUndefined();
    expect(windowOf({ requests: 10, errors: 1, ttft: { le: [0.05, 0.1], counts: [10, 10, 10] } })).toMatchObject({ errorRate: 0.1, ttftSamples: 10, itlP95Ms: null, itlSamples: 0 });
    expect(windowOf({ requests: 1, errors: 0, ttft: { le: [0.05], counts: [1, 1] }, itl: { le: [0.01, 0.02], counts: [0, 100, 100] } })).toMatchObject({ itlSamples: 100, itlP95Ms: expect.closeTo(19.5, 5) });
  });

  it('validates its spec: increasing steps ending at 100', () => {
    expect(rolloutSpecSchema.safeParse({ steps: [50, 10, 100] }).success).toBe(false);
    expect(rolloutSpecSchema.safeParse({ steps: [10, 50] }).success).toBe(false);
    expect(rolloutSpecSchema.parse({})).toMatchObject({ strategy: 'canary', steps: [10, 50, 100] });
  });
});
