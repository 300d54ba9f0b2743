/** Compares a plan with a scenario's expectations; returns every mismatch as a sentence. */
import type { Plan } from '../types.js';
import type { Scenario } from './scenario-file.js';

export function compareWithExpectation(scenario: Scenario, plan: Plan): string[] {
  const { snapshot, expect: e } = scenario;
  const out: string[] = [];
  const names = new Map([...snapshot.pending, ...snapshot.running].map((w) => [w.id, w.name]));
  const nodeNames = new Map(snapshot.nodes.map((n) => [n.id, n.name]));
  const n = (id: string) => names.get(id) ?? id;
  const node = (id: string) => nodeNames.get(id) ?? id;
  const sameSet = (a: Iterable<string>, b: Iterable<string>) => {
    const x = [...new Set(a)].sort();
    const y = [...new Set(b)].sort();
    return x.length === y.length && x.every((v, i) => v === y[i]);
  };
  const list = (a: Iterable<string>) => `[${[...new Set(a)].sort().join(', ')}]`;

  const placed = new Map(plan.placements.map((p) => [n(p.workloadId), p]));
  if (!sameSet(placed.keys(), e.placed)) out.push(`placed: expected ${list(e.placed)}, got ${list(placed.keys())}`);
  for (const [w, nodes] of Object.entries(e.placedOn ?? {})) {
    const p = placed.get(w);
    if (!p) continue;
    const got = p.allocations.map((a) => node(a.nodeId));
    if (!sameSet(got, nodes)) out.push(`placedOn.${w}: expected nodes ${list(nodes)}, got ${list(got)}`);
  }

  const moved = new Set(plan.moves.map((m) => n(m.workloadId)));
  const expectedVictims = new Set(e.preempted.map((p) => p.name));
  // A consolidation move may also show up as a 'consolidate' preemption; that is the move, not a victim.
  const victims = plan.preemptions.filter((p) => !(p.kind === 'consolidate' && moved.has(n(p.workloadId)) && !expectedVictims.has(n(p.workloadId))));
  const got = victims.map((p) => n(p.workloadId));
  if (!sameSet(got, expectedVictims)) {
    out.push(`preempted: expected ${list(expectedVictims)}, got ${list(victims.map((p) => `${n(p.workloadId)} (${p.kind} for ${n(p.forWorkloadId)})`))}`);
  }
  for (const x of e.preempted) {
    const p = victims.find((v) => n(v.workloadId) === x.name);
    if (!p) continue;
    if (x.kind !== undefined && p.kind !== x.kind) out.push(`preempted.${x.name}: expected kind ${x.kind}, got ${p.kind}`);
    if (x.for !== undefined && n(p.forWorkloadId) !== x.for) out.push(`preempted.${x.name}: expected for ${x.for}, got for ${n(p.forWorkloadId)}`);
  }

  for (const [w, text] of Object.entries(e.pending)) {
    if (placed.has(w)) {
      out.push(`pending.${w}: expected pending (reason containing "${text}"), but it was placed`);
      continue;
    }
    const reasons = plan.pending.find((p) => n(p.workloadId) === w)?.reasons ?? [];
    if (!reasons.some((r) => r.toLowerCase().includes(text.toLowerCase()))) {
      out.push(`pending.${w}: expected a reason containing "${text}", got ${reasons.length === 0 ? 'no reasons' : reasons.map((r) => JSON.stringify(r)).join(' | ')}`);
    }
  }

  if (e.reservations !== undefined) {
    const got = plan.reservations.map((r) => n(r.workloadId));
    if (!sameSet(got, e.reservations.map((r) => r.name))) out.push(`reservations: expected ${list(e.reservations.map((r) => r.name))}, got ${list(got)}`);
    for (const x of e.reservations) {
      const r = plan.reservations.find((y) => n(y.workloadId) === x.name);
      if (!r) continue;
      if (x.at !== undefined && r.at !== x.at) out.push(`reservations.${x.name}: expected at ${x.at}, got ${r.at}`);
      if (x.nodes !== undefined && !sameSet(r.nodeIds.map(node), x.nodes)) out.push(`reservations.${x.name}: expected nodes ${list(x.nodes)}, got ${list(r.nodeIds.map(node))}`);
    }
  }

  if (!sameSet(moved, e.moves.map((m) => m.name))) out.push(`moves: expected ${list(e.moves.map((m) => m.name))}, got ${list(moved)}`);
  for (const x of e.moves) {
    const m = plan.moves.find((y) => n(y.workloadId) === x.name);
    if (!m) continue;
    if (x.for !== undefined && n(m.forWorkloadId) !== x.for) out.push(`moves.${x.name}: expected for ${x.for}, got for ${n(m.forWorkloadId)}`);
    if (x.to !== undefined && !sameSet(m.to.map((a) => node(a.nodeId)), x.to)) out.push(`moves.${x.name}: expected to ${list(x.to)}, got ${list(m.to.map((a) => node(a.nodeId)))}`);
  }
  return out;
}
