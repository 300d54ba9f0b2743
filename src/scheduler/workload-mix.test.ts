import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MixLearner, WorkloadMix } from './workload-mix.js';

const arbWorkload = fc.record({
  request: fc.record({
    gpus: fc.integer({ min: 0, max: 4 }),
    gpuFraction: fc.constantFrom(null, 0.5),
    gpuMemoryMiB: fc.constant(null),
    cpus: fc.constantFrom(0, 8),
    memoryMiB: fc.constant(0),
  }),
  gpuModels: fc.constantFrom(null, ['A'], ['A', 'B']),
  replicas: fc.integer({ min: 1, max: 3 }),
});

/** What a mix holds, in its order. */
const read = (mix: WorkloadMix) => ({ total: mix.total, shapes: [...mix.all()].map((s) => ({ ...s })) });

describe('MixLearner', () => {
  it('learns each snapshot of a series as a fresh mix would, whatever objects it is passed again (property)', () => {
    fc.assert(
      fc.property(
        fc.array(arbWorkload, { minLength: 1, maxLength: 12 }),
        fc.array(fc.record({ pending: fc.array(fc.nat(30), { maxLength: 10 }), running: fc.array(fc.nat(30), { maxLength: 10 }) }), { minLength: 1, maxLength: 5 }),
        (pool, steps) => {
          const learner = new MixLearner();
          for (const step of steps) {
            // An index past the pool is a new object, alike to one of the pool.
            const pick = (i: number) => (i < pool.length ? pool[i]! : structuredClone(pool[i % pool.length]!));
            const snapshot = { pending: step.pending.map(pick), running: step.running.map(pick) };
            const fresh = new WorkloadMix();
            for (const w of [...snapshot.pending, ...snapshot.running]) fresh.add(w);
            expect(read(learner.mixOf(snapshot))).toEqual(read(fresh));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
