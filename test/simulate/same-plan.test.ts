import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/db.js';
import { insertTeam } from '../../src/store/teams-repo.js';
import { insertQueue } from '../../src/store/queues-repo.js';
import { insertNode, replaceGpus } from '../../src/store/nodes-repo.js';
import { insertWorkload } from '../../src/store/workloads-repo.js';
import { readSnapshot } from '../../src/control/loops/snapshot.js';
import { parseSchedulerSettings } from '../../src/scheduler/settings.js';
import { schedule } from '../../src/scheduler/schedule.js';
import type { Plan, ReplicaAllocation, Snapshot } from '../../src/scheduler/types.js';
import { seededRandom } from '../../src/core/seeded-random.js';
import { buildCluster, simulate, type SimJobInput } from '../../src/simulate/replay/index.js';

/**
 * The must-show of the simulator: the same placement code decides in the simulator and in the
 * server. A replay under gpufleet-default is stopped at one of its cycles; the fleet as it stands
 * then (nodes, queues, running and pending jobs, and every run since the usage horizon) is written
 * into a real database, the server reads it back with its own snapshot code and plans with the
 * scheduler settings it would load, and that plan equals the one the simulator made.
 */
interface Run {
  workloadId: string;
  allocation: ReplicaAllocation;
  startMs: number;
  endMs: number;
  completed: boolean;
}
interface Cycle {
  snapshot: Snapshot;
  plan: Plan;
  now: number;
}

const settings = parseSchedulerSettings({ fairShareHalfLife: '10m', minRuntimeMs: 30_000 });
const cluster = buildCluster({ nodes: 4, gpusPerNode: 8, gpuModel: 'P100-16GB', queues: [{ name: 'qa', gpus: 24 }, { name: 'qb', gpus: 8 }] });

/** Busy queue qa fills the cluster early; qb comes later and is under its share. Distinct submit times. */
function trace(seed: number): SimJobInput[] {
  const rnd = seededRandom(seed);
  const sizes = [1, 1, 2, 4, 8];
  return Array.from({ length: 120 }, (_, i) => ({
    id: `job${i}`,
    queue: i < 50 ? 'qa' : rnd() < 0.5 ? 'qa' : 'qb',
    submitTime: i * 7 + rnd(),
    duration: 60 + Math.floor(rnd() * 900),
    gpus: sizes[Math.floor(rnd() * sizes.length)]!,
  }));
}

const busy = (c: Cycle) => c.snapshot.pending.length >= 3 && c.snapshot.running.length > 3 && c.snapshot.queues.every((q) => (q.decayedUsage['gpu'] ?? 0) > 0);

/** The replay's first cycle that reclaims, and its first that places once early runs have left the usage horizon (5 half-lives). */
function replayWithLog(jobs: SimJobInput[]): { cycles: Record<'reclaim' | 'pastHorizon', Cycle | undefined>; runs: Run[] } {
  const cycles: Record<'reclaim' | 'pastHorizon', Cycle | undefined> = { reclaim: undefined, pastHorizon: undefined };
  const runs: Run[] = [];
  simulate(jobs, cluster, {
    policy: 'gpufleet-default',
    scheduler: settings.scheduler,
    fairShareHalfLifeMs: settings.fairShareHalfLifeMs,
    observer: {
      cycle: (snapshot, plan, now) => {
        const c = { snapshot, plan, now };
        if (!busy(c)) return;
        if (!cycles.reclaim && plan.preemptions.length > 0) cycles.reclaim = structuredClone(c);
        if (!cycles.pastHorizon && plan.placements.length > 0 && now > 6 * settings.fairShareHalfLifeMs) cycles.pastHorizon = structuredClone(c);
      },
      runEnded: (r) => runs.push(r),
    },
  });
  return { cycles, runs };
}

/** The fleet at `cycle.now` as the server's tables would hold it. */
async function writeFleet(store: Store, jobs: SimJobInput[], cycle: Cycle, runs: Run[]): Promise<void> {
  const db = store.db;
  const at = (ms: number) => new Date(ms);
  await insertTeam(db, { id: 't', name: 't' });
  for (const q of cluster.queues)
    await insertQueue(db, { id: q.id, name: q.name, teamId: 't', priority: 0, quotas: [{ resource: 'gpus', gpuModel: '*', guaranteed: q.quotas[0]!.guaranteed, limit: null, overQuotaWeight: 1, lendingLimit: null }] });
  for (const n of cluster.nodes) {
    await insertNode(db, n.id, { name: n.name, simulated: true, labels: {}, cpus: 0, memoryMiB: 0, agentVersion: 'test', credentialHash: `h-${n.id}` }, at(0));
    await replaceGpus(db, n.id, n.gpus.map((g) => ({ index: g.index, uuid: `${n.id}-${g.index}`, model: g.model, memoryMiB: 0 })));
  }
  const pending = new Map(cycle.snapshot.pending.map((w) => [w.id, w]));
  const running = new Map(cycle.snapshot.running.map((w) => [w.id, w]));
  const width = String(jobs.length - 1).length;
  // Runs over by then; a run the plan stops at this very time is still running in its snapshot.
  const past = runs.filter((r) => r.endMs <= cycle.now && running.get(r.workloadId)?.startedAt !== r.startMs);
  for (const [i, job] of jobs.entries()) {
    const id = `j${String(i).padStart(width, '0')}`;
    const mine = past.filter((r) => r.workloadId === id);
    const now = running.get(id);
    const state = now ? 'running' : pending.has(id) ? 'pending' : mine.some((r) => r.completed) ? 'succeeded' : null;
    if (state === null) continue; // not submitted yet
    await insertWorkload(db, {
      id, name: job.id, team_id: 't', queue_id: job.queue, state, priority: 0, gpus: job.gpus, gpu_model: null,
      spec: JSON.stringify({ command: ['true'], env: {}, workdir: null, gracePeriodSeconds: 0 }),
      generation: mine.length + 1, created_at: at(Math.round(job.submitTime * 1000)), admitted_at: null,
      started_at: now ? at(now.startedAt) : null, finished_at: null, exit_code: null, reason: null,
      claimed_at: pending.get(id)?.claimedAt != null ? at(pending.get(id)!.claimedAt!) : null,
    });
    const replica = (gen: number, a: ReplicaAllocation, start: number, end: number | null, state: 'running' | 'succeeded' | 'stopped') =>
      db.insertInto('replicas').values({
        id: `${id}-g${gen}`, workload_id: id, node_id: a.nodeId, generation: gen, state, desired: state === 'running' ? 'run' : 'stop',
        gpu_indices: JSON.stringify(a.gpuIndices), gpu_model: a.gpuModel, started_at: at(start), finished_at: end === null ? null : at(end), exit_code: null, message: null,
      }).execute();
    for (const [g, r] of mine.entries()) await replica(g + 1, r.allocation, r.startMs, r.endMs, r.completed ? 'succeeded' : 'stopped');
    if (now) await replica(mine.length + 1, now.allocations[0]!, now.startedAt, null, 'running');
  }
}

const byId = <T extends { id: string }>(xs: readonly T[]) => [...xs].sort((a, b) => (a.id < b.id ? -1 : 1));

const jobs = trace(3);
const { cycles, runs } = replayWithLog(jobs);

describe.each(['reclaim', 'pastHorizon'] as const)('the simulator plans as the server does: %s', (which) => {
  const cycle = cycles[which]!;
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
  });
  afterAll(async () => store?.close());

  it('the replay reached a cycle worth comparing', () => {
    expect(cycle).toBeDefined();
  });
  it('the server reads the same snapshot from its tables and makes the same plan', async () => {
    await writeFleet(store, jobs, cycle, runs);
    const { snapshot } = await readSnapshot(store.db, new Date(cycle.now), settings.fairShareHalfLifeMs);
    // The same fleet...
    expect(byId(snapshot.pending)).toEqual(byId(cycle.snapshot.pending));
    expect(byId(snapshot.running).map((w) => ({ ...w, releasingFor: w.releasingFor ?? null }))).toEqual(byId(cycle.snapshot.running));
    expect(byId(snapshot.nodes).map((n) => n.gpus)).toEqual(byId(cycle.snapshot.nodes).map((n) => n.gpus));
    for (const q of cycle.snapshot.queues) {
      const server = snapshot.queues.find((s) => s.id === q.id)!;
      expect(server.quotas).toEqual(q.quotas);
      for (const key of ['gpu', 'gpu/P100-16GB']) expect(server.decayedUsage[key]).toBeCloseTo(q.decayedUsage[key]!, 9);
    }
    // ...and the plan the server's loop would make equals the simulator's, preemptions included.
    const plan = schedule(snapshot, settings.scheduler, cycle.now);
    expect(plan.placements).toEqual(cycle.plan.placements);
    expect(plan.preemptions).toEqual(cycle.plan.preemptions);
    expect(plan.moves).toEqual(cycle.plan.moves);
    expect(plan.reservations).toEqual(cycle.plan.reservations);
    expect(plan.pending).toEqual(cycle.plan.pending);
  });
});
