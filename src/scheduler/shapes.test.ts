import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schedule } from './schedule.js';
import { ShapeTable } from './shapes.js';
import { arbSchedulerInput, type SchedulerInput } from './testing/arbitraries.js';
import { applyPlan } from './testing/check-plan.js';
import type { PendingWorkload, Plan } from './types.js';

/** A shrunk input a property once failed on, kept in `testing/cases/` as fast-check printed it. */
function loadCase(name: string): SchedulerInput {
  return JSON.parse(readFileSync(new URL(`./testing/cases/${name}.json`, import.meta.url), 'utf8')) as SchedulerInput;
}

/** Shapes as usual, but every workload turned away is searched for on its own. */
class NoSharing extends ShapeTable {
  override readonly sharesFindings = false;
}

const numRuns = Number(process.env.FC_RUNS ?? 200);

/**
 * A workload refused like an earlier one of its shape is told what that one found: counts in
 * reasons ("most free on one node: 3") are as of then. Whether a backfill reservation or room
 * being freed for another workload was in its way is as that one found, with or without sharing
 * (the search's own cache of refused shapes keeps those notes). Which workloads start, stop, move
 * or reserve must not change.
 */
const comparable = (plan: Plan) => ({
  ...plan,
  pending: plan.pending.map((p) => ({ ...p, reasons: p.reasons.map((r) => r.replace(/\d+/g, '#')) })),
});

function bothWays(input: SchedulerInput): void {
  const shared = schedule(structuredClone(input.snapshot), input.config, input.now);
  const alone = schedule(structuredClone(input.snapshot), input.config, input.now, { shapes: new NoSharing() });
  expect(comparable(shared)).toEqual(comparable(alone));
}

/**
 * Each pending workload three times over, so most of the backlog shares a shape; the copies come
 * first, so the original (which work being released may be held for) is not the first of its shape.
 */
function tripled(input: SchedulerInput): SchedulerInput {
  const pending: PendingWorkload[] = [];
  for (const copy of [2, 1, 0])
    for (const w of input.snapshot.pending)
      pending.push(copy === 0 ? w : { ...w, id: `${w.id}~${copy}`, name: `${w.name}~${copy}`, submittedAt: w.submittedAt - copy });
  return { ...input, snapshot: { ...input.snapshot, pending } };
}

describe('shapes', () => {
  it('numbers equal shapes alike and different ones apart', () => {
    const table = new ShapeTable();
    const w = (gpus: number, gpuModels: string[] | null = null, timeLimitMs: number | null = null): PendingWorkload => ({
      id: 'x',
      name: 'x',
      queueId: 'q',
      priority: 0,
      preemptible: true,
      replicas: 1,
      request: { gpus, gpuFraction: null, gpuMemoryMiB: null, cpus: 0, memoryMiB: 0 },
      gpuModels,
      topology: { required: null, preferred: null },
      timeLimitMs,
      submittedAt: 0,
    });
    const one = table.idOf(w(1));
    expect(table.idOf(w(1))).toBe(one);
    expect(new Set([one, table.idOf(w(2)), table.idOf(w(1, ['H100'])), table.idOf(w(1, null, 60_000))]).size).toBe(4);
    // Adopted shapes (unlike each other) are numbered as idOf numbers them, and found by it.
    const adopting = new ShapeTable();
    expect([w(2), w(1, ['H100'])].map((x) => adopting.adopt(x))).toEqual([0, 1]);
    expect(adopting.idOf(w(1, ['H100']))).toBe(1);
    expect(adopting.idOf(w(3))).toBe(2);
    expect(table.idOf(w(1, ['H100']))).toBe(table.idOf(w(1, ['H100'])));
  });

  it('sharing what one workload found with the others of its queue and shape changes no plan', () => {
    fc.assert(fc.property(arbSchedulerInput, bothWays), { numRuns });
  });

  it('changes no plan when most of the backlog shares a shape', () => {
    fc.assert(fc.property(arbSchedulerInput.map(tripled), bothWays), { numRuns });
  });

  /** Schedules, leaves the victims releasing, and compares the next plan with and without sharing. */
  const whileReleasing = (input: SchedulerInput): void => {
    const first = schedule(structuredClone(input.snapshot), input.config, input.now);
    const next = applyPlan(input.snapshot, first, input.now, { victims: 'releasing' });
    // A preemptor that arrived last is not the first of its shape to be looked at.
    const claimed = new Set(next.running.map((r) => r.releasingFor));
    for (const w of next.pending) if (claimed.has(w.id)) w.submittedAt += 60_000;
    bothWays({ ...input, snapshot: next });
  };

  it('changes no plan while preempted work releases what is held for its preemptor', () => {
    fc.assert(fc.property(arbSchedulerInput.map(tripled), whileReleasing), { numRuns });
  });

  it('tells a workload of a refused shape that room is being freed for another, as it told the first', () => {
    whileReleasing(loadCase('freeing-note-and-shared-findings'));
  });
});
