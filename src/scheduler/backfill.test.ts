import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { earliestByGpus, earliestSearched, soonestNode } from './backfill.js';
import type { NodeState } from './fleet.js';

/**
 * The earliest start of a reservation by GPUs alone, read off the nodes' slots, must be the one the
 * binary search over every free time finds (which reservations with cores or memory still use).
 */
describe('backfill: the earliest start', () => {
  it('is the same read off the slots as found by searching the free times', () => {
    const node = fc.array(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constant(Infinity)), { minLength: 1, maxLength: 8 }).map((l) => l.sort((a, b) => a - b));
    fc.assert(
      fc.property(fc.array(fc.array(node, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 8 }), fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 30, max: 40 })), (groupLists, gpus, replicas) => {
        const freeTimes = new Map<NodeState, number[]>();
        const groups = groupLists.map((lists) =>
          lists.map((list) => {
            const key = {} as NodeState;
            freeTimes.set(key, list);
            return key;
          }),
        );
        const slots = (n: NodeState, at: number) => Math.floor(freeTimes.get(n)!.filter((t) => t <= at).length / gpus);
        const feasible = (at: number) => groups.find((g) => g.reduce((sum, n) => sum + slots(n, at), 0) >= replicas) ?? null;
        const timesOf = (n: NodeState) => freeTimes.get(n)!;
        expect(earliestByGpus(groups, timesOf, gpus, replicas)).toBe(earliestSearched(groups.flat(), timesOf, feasible));
      }),
      { numRuns: 500 },
    );
  });
});

/** One replica's reservation found in one pass must be the general search's: the same time, and the node with the most slots then, the first of equals. */
describe('backfill: one replica', () => {
  it('takes the time and node the general search would', () => {
    const node = fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(Infinity)), { minLength: 0, maxLength: 8 }).map((l) => l.sort((a, b) => a - b));
    fc.assert(
      fc.property(fc.array(fc.record({ times: node, eligible: fc.boolean() }), { minLength: 1, maxLength: 16 }), fc.integer({ min: 1, max: 8 }), (specs, gpus) => {
        const of = new Map<NodeState, { times: number[]; eligible: boolean }>();
        const nodes = specs.map((spec) => {
          const key = {} as NodeState;
          of.set(key, spec);
          return key;
        });
        const timesOf = (n: NodeState) => of.get(n)!.times;
        const eligible = (n: NodeState) => of.get(n)!.eligible;
        const at = earliestByGpus([nodes.filter(eligible)], timesOf, gpus, 1);
        const found = soonestNode(nodes, eligible, timesOf, gpus);
        if (at === null) {
          expect(found).toBeNull();
          return;
        }
        const slots = (n: NodeState) => Math.floor(timesOf(n).filter((t) => t <= at).length / gpus);
        const withSlots = nodes.filter((n) => eligible(n) && slots(n) > 0);
        const most = Math.max(...withSlots.map(slots));
        // Nodes are told apart by identity: each is an empty object.
        expect(found?.at).toBe(at);
        expect(found?.group).toHaveLength(1);
        expect(found?.group[0]!.node).toBe(withSlots.find((n) => slots(n) === most));
        expect(found?.group[0]!.slots).toBe(most);
      }),
      { numRuns: 1000 },
    );
  });
});
