import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets } from '../../test/support/databases.js';
import type { Store } from './db.js';
import { migrate } from './migrate.js';
import { insertTeam } from './teams-repo.js';
import { getQueueByName, insertQueue, queueUsage } from './queues-repo.js';
import { insertWorkload, updateWorkloadAt, findWorkloadByName, getSchedulingRows, listPendingWorkloads, setClaims, setPendingReasons } from './workloads-repo.js';
import { getNodeByName, insertNode, listNodes, replaceGpus } from './nodes-repo.js';
import { insertReplica } from './replicas-repo.js';
import { insertLogChunks, readLogChunks } from './logs-repo.js';
import { isUniqueViolation } from './transaction.js';
import {
  addJobCancels,
  changeClusterStatus,
  deleteCluster,
  getClusterByName,
  insertCluster,
  isClusterBeingDeleted,
  listJobCancels,
  lockLiveCluster,
  markClusterDeleted,
  removeClusterNodes,
  removeJobCancel,
  upsertClusterNode,
} from './clusters-repo.js';
import { clusterSpecSchema } from '../core/cluster-types.js';

for (const target of databaseTargets()) {
  describe(`store on ${target.name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      ({ store, drop } = await target.open());
      await insertTeam(store.db, { id: 't1', name: 'ml' });
      await insertQueue(store.db, { id: 'q1', name: 'research', teamId: 't1', priority: 0, quotas: [] });
    }, 60_000);
    afterAll(async () => drop());

    const newJob = (id: string, name: string) =>
      insertWorkload(store.db, {
        id, name, team_id: 't1', queue_id: 'q1', state: 'pending', reason: null, priority: 0, gpus: 2, gpu_model: null,
        spec: JSON.stringify({ command: ['true'], env: {}, workdir: null, gracePeriodSeconds: 1 }),
        exit_code: null, admitted_at: null, started_at: null, finished_at: null,
      });

    it('applies migrations once: a second run does nothing', async () => {
      expect(await migrate(store.db)).toEqual([]);
    });

    it('guards updates by version', async () => {
      const row = await newJob('j-1', 'a');
      const first = await updateWorkloadAt(store.db, row.id, row.version, { reason: 'x' });
      expect(first?.version).toBe(row.version + 1);
      expect(await updateWorkloadAt(store.db, row.id, row.version, { reason: 'y' })).toBeUndefined();
    });

    it('keeps names unique among active workloads only', async () => {
      const row = await newJob('j-2', 'dup');
      await expect(newJob('j-3', 'dup')).rejects.toSatisfy(isUniqueViolation);
      await updateWorkloadAt(store.db, row.id, row.version, { state: 'succeeded' });
      await newJob('j-4', 'dup');
      expect((await findWorkloadByName(store.db, 't1', 'dup'))?.id).toBe('j-4');
    });

    it('charges queues for the GPUs of active replicas, by model', async () => {
      await insertNode(store.db, 'n1', { name: 'node-1', simulated: true, labels: {}, cpus: 1, memoryMiB: 1, agentVersion: 'test', credentialHash: 'h1' }, new Date());
      await replaceGpus(store.db, 'n1', [0, 1, 2].map((index) => ({ index, uuid: `u${index}`, model: 'H100-80GB', memoryMiB: 81920 })));
      await newJob('j-5', 'charged');
      await insertReplica(store.db, { id: 'r-5', workloadId: 'j-5', nodeId: 'n1', generation: 1, gpuIndices: [0, 2], gpuModel: 'H100-80GB' });
      // A share of a GPU counts as its share.
      await insertReplica(store.db, { id: 'r-5b', workloadId: 'j-5', nodeId: 'n1', generation: 1, gpuIndices: [1], gpuModel: 'H100-80GB', gpuFraction: 0.25, index: 1 });
      expect((await queueUsage(store.db)).get('q1')).toEqual({ 'H100-80GB': 2.25 });
    });

    it('records a claim on pending workloads only, for the scheduler to read', async () => {
      const waiting = await newJob('j-c1', 'claimant');
      const started = await newJob('j-c2', 'started');
      await updateWorkloadAt(store.db, started.id, started.version, { state: 'admitted' });
      const at = new Date('2026-12-07T10:00:00Z');
      await setClaims(store.db, [waiting.id, started.id], at);
      const rows = new Map((await getSchedulingRows(store.db, [waiting.id, started.id])).map((r) => [r.id, r]));
      expect(rows.get(waiting.id)).toMatchObject({ claimed_at: at, version: waiting.version });
      expect(rows.get(started.id)?.claimed_at).toBeNull();
    });

    it('keeps the scheduling fields of workloads and replicas, and the ranked pending reasons', async () => {
      const row = await insertWorkload(store.db, {
        id: 'j-6', name: 'gang', team_id: 't1', queue_id: 'q1', state: 'pending', reason: null, priority: 300, gpus: 0, gpu_model: null,
        gpu_fraction: 0.5, gpu_models: JSON.stringify(['L4-24GB']), cpus: 1.5, memory_mib: 2048, replicas: 4, preemptible: false,
        priority_class: 'train', topology_required: 'rack', topology_preferred: null, time_limit_seconds: 5400,
        spec: JSON.stringify({ command: ['true'], env: {}, workdir: null, gracePeriodSeconds: 1 }),
        exit_code: null, admitted_at: null, started_at: null, finished_at: null,
      });
      expect(row).toMatchObject({ gpu_fraction: 0.5, gpu_models: ['L4-24GB'], cpus: 1.5, memory_mib: 2048, replicas: 4, preemptible: false, reasons: [] });
      await setPendingReasons(store.db, [{ id: 'j-6', reasons: ['no rack has 4 free L4-24GB GPUs', 'queue research is at its limit'] }]);
      const [pending] = (await listPendingWorkloads(store.db)).filter((w) => w.id === 'j-6');
      expect(pending).toMatchObject({ reason: 'no rack has 4 free L4-24GB GPUs', reasons: ['no rack has 4 free L4-24GB GPUs', 'queue research is at its limit'], version: row.version });
      const replica = await insertReplica(store.db, { id: 'r-6', workloadId: 'j-6', nodeId: 'n1', generation: 1, gpuIndices: [1], index: 3, gpuModel: 'H100-80GB', gpuFraction: 0.5, gpuMemoryMiB: 40960, cpus: 1.5, memoryMiB: 2048 });
      expect(replica).toMatchObject({ replica_index: 3, gpu_fraction: 0.5, gpu_memory_mib: 40960, cpus: 1.5, memory_mib: 2048 });
    });

    it('fills the defaults of quotas stored before quotas had a resource', async () => {
      await insertQueue(store.db, { id: 'q-old', name: 'old', teamId: 't1', priority: 0, quotas: [{ gpuModel: '*', guaranteed: 1, limit: null, overQuotaWeight: 1 } as never] });
      expect((await getQueueByName(store.db, 'old'))?.quotas).toEqual([{ resource: 'gpus', gpuModel: '*', guaranteed: 1, limit: null, overQuotaWeight: 1, lendingLimit: null }]);
    });

    it('stores each log chunk once however often it is sent', async () => {
      const owner = new Map([['r-5', 'j-5']]);
      const chunk = { replicaId: 'r-5', stream: 'stdout' as const, offset: 0, data: 'hello\n' };
      await insertLogChunks(store.db, owner, [chunk]);
      await insertLogChunks(store.db, owner, [chunk, { ...chunk, offset: 6, data: 'world\n' }]);
      await insertLogChunks(store.db, new Map(), [{ ...chunk, offset: 99 }]);
      expect((await readLogChunks(store.db, 'j-5', 0, 100)).map((c) => c.data)).toEqual(['hello\n', 'world\n']);
    });

    it('tells a cluster status change once, however its message changes while it lasts', async () => {
      const spec = clusterSpecSchema.parse({ backend: 'slurm', url: 'http://127.0.0.1:6820', user: 'root', token: { env: 'SLURM_JWT' }, outputDir: '/srv/slurm-out' });
      const cluster = await insertCluster(store.db, { id: 'c-1', name: 'hpc', spec });
      expect(await changeClusterStatus(store.db, cluster.id, 'unauthorized', 'refused GET /nodes')).toBe(true);
      expect(await changeClusterStatus(store.db, cluster.id, 'unauthorized', 'refused GET /jobs')).toBe(false);
      expect(await getClusterByName(store.db, 'hpc')).toMatchObject({ status: 'unauthorized', message: 'refused GET /jobs' });
      expect(await changeClusterStatus(store.db, cluster.id, 'ready', null)).toBe(true);
    });

    it("keeps a deleted cluster's machines out of the inventory, frees their names, and keeps its jobs to cancel", async () => {
      const spec = clusterSpecSchema.parse({ backend: 'slurm', url: 'http://127.0.0.1:6820', user: 'root', token: { env: 'SLURM_JWT' }, outputDir: '/srv/slurm-out' });
      const machine = (name: string) => ({ name: `lab/${name}`, externalName: name, state: 'ready' as const, cpus: 8, memoryMiB: 1024, labels: {}, gpus: [] });
      const first = await insertCluster(store.db, { id: 'c-lab1', name: 'lab', spec });
      // Cluster machines have no credential: two of them must not collide on it.
      await upsertClusterNode(store.db, 'n-lab1', first.id, machine('m1'), new Date());
      await upsertClusterNode(store.db, 'n-lab2', first.id, machine('m2'), new Date());
      await addJobCancels(store.db, first.id, [{ idempotencyKey: 'r-1.1', externalId: '41' }, { idempotencyKey: 'r-2.1', externalId: null }]);
      await addJobCancels(store.db, first.id, [{ idempotencyKey: 'r-1.1', externalId: null }, { idempotencyKey: 'r-2.1', externalId: '42' }]);
      expect((await listJobCancels(store.db, first.id)).map((j) => [j.idempotency_key, j.external_id])).toEqual([['r-1.1', '41'], ['r-2.1', '42']]);

      expect((await removeClusterNodes(store.db, first.id, new Date())).map((n) => n.name)).toEqual(['lab/m1', 'lab/m2']);
      await markClusterDeleted(store.db, first.id, new Date());
      expect(await lockLiveCluster(store.db, first.id)).toBe(false);
      expect(await getClusterByName(store.db, 'lab')).toBeUndefined();
      expect(await isClusterBeingDeleted(store.db, 'lab')).toBe(true);
      expect((await listNodes(store.db)).map((n) => n.name)).not.toContain('lab/m1');
      expect(await getNodeByName(store.db, 'lab/m1')).toBeUndefined();

      await removeJobCancel(store.db, first.id, 'r-1.1');
      expect((await listJobCancels(store.db, first.id)).map((j) => j.idempotency_key)).toEqual(['r-2.1']);
      await deleteCluster(store.db, first.id);
      const second = await insertCluster(store.db, { id: 'c-lab2', name: 'lab', spec });
      expect((await upsertClusterNode(store.db, 'n-lab3', second.id, machine('m1'), new Date())).id).toBe('n-lab3');
      expect((await getNodeByName(store.db, 'lab/m1'))?.id).toBe('n-lab3');
    });
  });
}
