import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FleetState } from './fleet.js';
import { FragmentationScorer, fragmentationScorer, scorerFor } from './fragmentation-scorer.js';
import { bucketScorer, Placer, type PlacementScorer } from './placement.js';
import { schedule } from './schedule.js';
import { arbSchedulerInput } from './testing/arbitraries.js';
import { checkPlanDetailed, describeInput, describePlan } from './testing/check-plan.js';
import { job } from './testing/fixtures.js';
import { defaultSchedulerConfig, type PendingWorkload, type PlacementPolicy, type ReplicaRequest, type SnapshotNode } from './types.js';

const node = (id: string, gpus: number, cpus: number, memoryMiB = 262_144, model = 'T4'): SnapshotNode => ({
  id,
  name: id,
  schedulable: true,
  labels: {},
  cpus,
  memoryMiB,
  gpus: Array.from({ length: gpus }, (_, index) => ({ index, model, memoryMiB: 16_384 })),
});

const request = (gpus: number, cpus: number, more: Partial<ReplicaRequest> = {}): ReplicaRequest => ({ gpus, gpuFraction: null, gpuMemoryMiB: null, cpus, memoryMiB: 0, ...more });
const share = (fraction: number, cpus = 1) => request(0, cpus, { gpuFraction: fraction });
const workload = (id: string, req: ReplicaRequest, more: Partial<PendingWorkload> = {}): PendingWorkload => job(id, req.gpus, { request: req, ...more });

function fleetOf(nodes: SnapshotNode[], policy: PlacementPolicy): FleetState {
  const fleet = new FleetState(nodes, { ...defaultSchedulerConfig, placement: { default: policy, pools: {} } });
  fleet.index();
  return fleet;
}

/** A scorer that has seen `shapes` (each `count` times) pending or running. */
function scorerWith(shapes: [ReplicaRequest, number][]): FragmentationScorer {
  const scorer = new FragmentationScorer();
  for (const [req, count] of shapes) scorer.mix.add({ request: req, gpuModels: null, replicas: count });
  return scorer;
}

function placeOne(fleet: FleetState, scorer: PlacementScorer, w: PendingWorkload, model: string | null = 'T4') {
  const placed = new Placer(fleet, scorer, 0).place(w, model);
  if (!Array.isArray(placed)) throw new Error(`${w.id} was not placed`);
  return placed[0]!;
}

describe('FragmentationScorer', () => {
  it('keeps a node whole for the large shapes of the mix, where bin-pack takes the first of equals', () => {
    // Only `a` has the cores a 4-GPU replica of the mix needs: a 1-GPU replica belongs on `b`.
    const nodes = [node('a', 4, 64), node('b', 4, 16)];
    const scorer = scorerWith([
      [request(4, 64), 1],
      [request(1, 1), 1],
    ]);
    expect(placeOne(fleetOf(nodes, 'fragmentation'), scorer, workload('small', request(1, 1))).nodeId).toBe('b');
    expect(placeOne(fleetOf(nodes, 'binpack'), bucketScorer, workload('small', request(1, 1))).nodeId).toBe('a');
  });

  it('keeps the cores beside free GPUs: a replica asking many cores per GPU goes where cores are plentiful', () => {
    // The mix asks 11 cores per GPU. On `a` a 20-core replica would leave 24 cores for 3 GPUs and strand
    // one of them; `b` has cores to spare. Every shape of the mix still fits either way, so only the
    // stranding tells them apart, and best fit alone (bin-pack) takes the fuller `a`.
    const nodes = [node('a', 4, 44), node('b', 4, 200)];
    const scorer = scorerWith([[request(1, 11), 10]]);
    const heavy = workload('heavy', request(1, 20));
    expect(placeOne(fleetOf(nodes, 'fragmentation'), scorer, heavy).nodeId).toBe('b');
    expect(placeOne(fleetOf(nodes, 'binpack'), bucketScorer, heavy).nodeId).toBe('a');
    // The same for memory: 64 GiB per GPU in the mix.
    const byMemory = [node('a', 4, 0, 4 * 65_536), node('b', 4, 0, 16 * 65_536)];
    const memoryScorer = scorerWith([[request(1, 0, { memoryMiB: 65_536 }), 10]]);
    expect(placeOne(fleetOf(byMemory, 'fragmentation'), memoryScorer, workload('big', request(1, 0, { memoryMiB: 131_072 }))).nodeId).toBe('b');
  });

  it('puts a share on the GPU where the shares of the mix still fit, not the fullest one', () => {
    const fleet = fleetOf([node('a', 2, 64)], 'fragmentation');
    const held = (gpu: number, fraction: number) => ({ nodeId: 'a', gpuIndices: [gpu], gpuFraction: fraction, gpuModel: 'T4', cpus: 0, memoryMiB: 0 });
    fleet.apply(held(0, 0.3), 1, Infinity);
    fleet.apply(held(1, 0.6), 1, Infinity);
    const scorer = scorerWith([
      [share(0.4), 10],
      [share(0.3), 1],
    ]);
    // On GPU 1 (the fullest, bin-pack's choice) 0.1 would be left, too little for a 0.4 share; on GPU 0 two 0.4 shares still fit.
    expect(placeOne(fleet, scorer, workload('s', share(0.3)))).toMatchObject({ gpuIndices: [0], gpuFraction: 0.3 });
    expect(fleet.byId.get('a')!.byIndex[1]!.used).toBeCloseTo(0.6);
  });

  it('keeps work without GPUs off the cores that GPU shapes need', () => {
    const nodes = [node('a-gpu', 2, 16), node('b-cpu', 0, 16)];
    const scorer = scorerWith([[request(1, 12), 4]]);
    const cpuOnly = workload('c', request(0, 8));
    expect(placeOne(fleetOf(nodes, 'fragmentation'), scorer, cpuOnly, null).nodeId).toBe('b-cpu');
    expect(placeOne(fleetOf(nodes, 'binpack'), bucketScorer, cpuOnly, null).nodeId).toBe('a-gpu');
  });

  it('orders the models a replica accepts by the fragmentation their best node would add', () => {
    // An 8-GPU shape can use only the V100 node; a 1-GPU replica taking it would strand it.
    const nodes = [node('a', 8, 96, 262_144, 'V100'), node('b', 2, 96, 262_144, 'T4')];
    const fleet = fleetOf(nodes, 'fragmentation');
    const scorer = scorerWith([
      [request(8, 8), 1],
      [request(1, 1), 1],
    ]);
    const placer = new Placer(fleet, scorer, 0);
    expect(placer.modelsInOrder(workload('one', request(1, 1)), ['V100', 'T4'])).toEqual(['T4', 'V100']);
    expect(new Placer(fleet, bucketScorer, 0).modelsInOrder(workload('one', request(1, 1)), ['V100', 'T4'])).toEqual(['V100', 'T4']);
  });

  it('keeps its index of nodes by state true as placements and cordons change the fleet (against a scorer built afresh at each step)', () => {
    const shapes: [ReplicaRequest, number][] = [
      [request(1, 2), 3],
      [request(2, 8), 2],
      [share(0.5, 2), 2],
      [request(4, 16), 1],
    ];
    const step = fc.oneof(
      fc.record({ cordon: fc.nat(7) }),
      fc.record({ ask: fc.constantFrom(request(1, 2), request(2, 8), share(0.5, 2), share(0.25, 1), request(4, 16)) }),
    );
    fc.assert(
      fc.property(fc.array(fc.record({ gpus: fc.integer({ min: 1, max: 8 }), cpus: fc.integer({ min: 8, max: 64 }) }), { minLength: 2, maxLength: 8 }), fc.array(step, { maxLength: 40 }), (specs, steps) => {
        const fleet = fleetOf(
          specs.map((n, i) => node(`n${i}`, n.gpus, n.cpus)),
          'fragmentation',
        );
        const kept = scorerWith(shapes);
        // A tiny class bound makes every new placer start the index afresh, mid-sequence.
        const bounded = new FragmentationScorer(kept.mix, 2);
        for (const s of steps) {
          if ('cordon' in s) {
            const target = fleet.nodes[s.cordon % fleet.nodes.length]!;
            fleet.setSchedulable(target, !target.schedulable);
            continue;
          }
          const offered = [...kept.candidates(fleet, s.ask, 'T4')].map((n) => n.id);
          expect(offered).toEqual([...scorerWith(shapes).candidates(fleet, s.ask, 'T4')].map((n) => n.id));
          bounded.attach(fleet);
          expect([...bounded.candidates(fleet, s.ask, 'T4')].map((n) => n.id)).toEqual(offered);
          const first = fleet.byId.get(offered[0] ?? '');
          const allocation = first && kept.fit(first, s.ask, 'T4');
          if (allocation) fleet.apply(allocation, 1, Infinity);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('offers nodes of other policies after its own, in the bucket order', () => {
    const fleet = new FleetState([{ ...node('a', 2, 16), labels: { pool: 'inference' } }, node('b', 2, 16)], {
      ...defaultSchedulerConfig,
      placement: { default: 'fragmentation', pools: { inference: 'spread' } },
    });
    fleet.index();
    const scorer = scorerWith([[request(1, 1), 1]]);
    expect([...scorer.candidates(fleet, request(1, 1), 'T4')].map((n) => n.id)).toEqual(['b', 'a']);
  });

  it('learns its mix from the pending and running workloads of a snapshot, and is chosen whenever a pool uses it (by default, all do)', () => {
    const scorer = fragmentationScorer({ pending: [workload('p', request(2, 4), { replicas: 3 })], running: [] });
    expect(scorer.mix.total).toBe(3);
    const snapshot = { pending: [], running: [] };
    expect(scorerFor(defaultSchedulerConfig, snapshot)).toBeInstanceOf(FragmentationScorer);
    expect(scorerFor({ ...defaultSchedulerConfig, placement: { default: 'binpack', pools: { inference: 'spread' } } }, snapshot)).toBe(bucketScorer);
    expect(scorerFor({ ...defaultSchedulerConfig, placement: { default: 'binpack', pools: { shared: 'fragmentation' } } }, snapshot)).toBeInstanceOf(FragmentationScorer);
  });
});

describe("the scheduler with 'fragmentation' placement", () => {
  it('keeps every invariant the scheduler promises (property, on the random fleets of the scheduler properties)', () => {
    fc.assert(
      fc.property(arbSchedulerInput, fc.boolean(), (input, everywhere) => {
        // Fragmentation as the default, and either everywhere or beside the pools' bin-pack and spread.
        const pools = everywhere ? {} : input.config.placement.pools;
        const config = { ...input.config, placement: { default: 'fragmentation' as const, pools } };
        const snapshot = structuredClone(input.snapshot);
        const plan = schedule(snapshot, config, input.now, { scorer: scorerFor(config, snapshot) });
        const found = checkPlanDetailed(input.snapshot, config, input.now, plan);
        if (found.length > 0) throw new Error(`${found.map((v) => `${v.rule}: ${v.message}`).join('\n')}\ninput:\n${describeInput(input.snapshot, config, input.now)}\nplan:\n${describePlan(input.snapshot, plan)}`);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 200) },
    );
  });
});
