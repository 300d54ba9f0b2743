import { describe, expect, it } from 'vitest';
import { autoscalingSchema, decideReplicas, initialMemory, type AutoscaleInput, type AutoscaleMemory } from './autoscaling.js';

const spec = autoscalingSchema.parse({ min: 1, max: 10, target: 4, scaleDownWindowSeconds: 60 });
const base = (over: Partial<AutoscaleInput> = {}): AutoscaleInput => ({ now: 0, spec, current: 2, samples: [4, 4], warming: 0, active: true, heldAtGateways: 0, scaledAt: 0, ...over });

/** Runs ticks one second apart, feeding each decision's count and memory into the next. */
function run(ticks: Array<Partial<AutoscaleInput>>, start: Partial<AutoscaleInput> = {}): number[] {
  let memory: AutoscaleMemory = initialMemory(0);
  let current = start.current ?? 2;
  const out: number[] = [];
  ticks.forEach((t, i) => {
    const d = decideReplicas(base({ ...start, ...t, now: i * 1000, current }), memory);
    memory = d.memory;
    current = d.replicas;
    out.push(current);
  });
  return out;
}

describe('autoscaling decisions', () => {
  it('keeps the count at the target, and within the tolerance', () => {
    expect(decideReplicas(base(), initialMemory(0)).replicas).toBe(2);
    expect(decideReplicas(base({ samples: [4.3, 4.3] }), initialMemory(0)).replicas).toBe(2);
  });

  it('scales up at once to total load over target, clamped to max', () => {
    expect(decideReplicas(base({ samples: [10, 10] }), initialMemory(0)).replicas).toBe(5);
    expect(decideReplicas(base({ samples: [40, 40] }), initialMemory(0)).replicas).toBe(10);
  });

  it('does not scale up again while the new replicas warm up (no cascade)', () => {
    // Load stays high on the two ready replicas while three new ones start.
    const counts = run([{ samples: [10, 10] }, { samples: [12, 12], warming: 3 }, { samples: [16, 16], warming: 3 }, { samples: [4, 4, 4, 4, 4], warming: 0 }]);
    expect(counts).toEqual([5, 5, 5, 5]);
  });

  it('scales down only after the down window, to the highest count recommended in it', () => {
    const high = Array.from({ length: 5 }, () => ({ samples: [10, 10] }));
    const low = Array.from({ length: 70 }, () => ({ samples: [1, 1, 1, 1, 1] }));
    const counts = run([...high, ...low]);
    expect(counts.slice(0, 5)).toEqual([5, 5, 5, 5, 5]);
    // The window still holds the recommendations of 5 for 60 s after the last of them.
    expect(counts.slice(5, 64).every((c) => c === 5)).toBe(true);
    expect(counts.at(-1)).toBe(2);
  });

  it('honours a scale-up window: the lowest recommendation in it', () => {
    const slow = autoscalingSchema.parse({ min: 1, max: 10, target: 4, scaleUpWindowSeconds: 3 });
    const counts = run([{ samples: [4, 4] }, { samples: [10, 10] }, { samples: [10, 10] }, { samples: [10, 10] }, { samples: [10, 10] }, { samples: [10, 10] }], { spec: slow });
    expect(counts).toEqual([2, 2, 2, 2, 5, 5]);
  });

  it('scales to zero after the idle period, and from zero when a gateway holds requests', () => {
    const zero = autoscalingSchema.parse({ min: 0, max: 4, target: 4, scaleToZeroAfterSeconds: 30 });
    const idle = { spec: zero, current: 1, samples: [0], active: false };
    expect(decideReplicas({ ...base(idle), now: 29_000 }, initialMemory(0)).replicas).toBe(1);
    const gone = decideReplicas({ ...base(idle), now: 30_000 }, initialMemory(0));
    expect(gone.replicas).toBe(0);
    expect(gone.reason).toMatch(/no request for 30 s/);
    // Activity restarts the clock; so does a scale (a replica just woken is not idle).
    expect(decideReplicas({ ...base(idle), now: 30_000 }, { history: [], lastActiveAt: 10_000 }).replicas).toBe(1);
    expect(decideReplicas({ ...base(idle), now: 30_000, scaledAt: 5_000 }, initialMemory(0)).replicas).toBe(1);
    expect(decideReplicas({ ...base({ spec: zero, current: 0, samples: [], active: false }), now: 40_000 }, initialMemory(0)).replicas).toBe(0);
    const woken = decideReplicas({ ...base({ spec: zero, current: 0, samples: [], active: false, heldAtGateways: 3 }), now: 40_000 }, initialMemory(0));
    expect(woken.replicas).toBe(1);
    expect(woken.reason).toMatch(/cold start/);
  });

  it('never goes below one replica with min 0 while requests come', () => {
    const zero = autoscalingSchema.parse({ min: 0, max: 4, target: 4, scaleDownWindowSeconds: 0 });
    expect(decideReplicas(base({ spec: zero, current: 2, samples: [0, 0] }), initialMemory(0)).replicas).toBe(1);
  });

  it('brings a count outside [min, max] back at once', () => {
    expect(decideReplicas(base({ current: 12, samples: [0] }), initialMemory(0)).replicas).toBe(10);
    expect(decideReplicas(base({ spec: autoscalingSchema.parse({ min: 3, max: 5, target: 4 }), current: 1, samples: [0] }), initialMemory(0)).replicas).toBe(3);
  });

  it('rejects min above max and kv-cache targets above 1, naming the field', () => {
    expect(autoscalingSchema.safeParse({ min: 5, max: 2, target: 1 }).error?.issues[0]?.path).toEqual(['min']);
    expect(autoscalingSchema.safeParse({ max: 2, target: 70, metric: 'kv-cache' }).error?.issues[0]?.path).toEqual(['target']);
  });
});
