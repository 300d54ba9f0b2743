import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testAssignment } from '../../test/support/assignments.js';
import { idempotencyKey } from '../executors/spi.js';
import { AgentExecutor, launchRequestOf } from './agent-executor.js';
import { simulatedGpus } from './gpu-discovery.js';
import { startReplica } from './process-runner.js';
import { StateDir } from './state-dir.js';

describe('agent executor state dir', () => {
  let root: string;
  let state: StateDir;
  let executor: AgentExecutor;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gpufleet-agent-executor-'));
    state = new StateDir(root);
    await state.init();
    executor = new AgentExecutor({ nodeName: 'n', stateDir: state, gpus: simulatedGpus('2xH100-80GB', 'n'), cpus: 2, memoryMiB: 1024, pollIntervalMs: 50 });
  });
  afterEach(async () => {
    executor.detach();
    await rm(root, { recursive: true, force: true });
  });

  async function ended(externalId: string): Promise<void> {
    for (let i = 0; i < 100 && (await executor.status([externalId])).get(externalId)!.state === 'running'; i++) await new Promise((r) => setTimeout(r, 50));
  }

  it('names a launch folder by its idempotency key and keeps the whole assignment there', async () => {
    const a = testAssignment({ command: ['sh', '-c', 'echo "$GPUFLEET_REPLICA_ID"'], gpuIndices: [1], gpuUuids: ['GPU-sim-n-1'], service: { model: 'm', version: 'v1', port: 4321, readinessPath: '/' } });
    const handle = await executor.launch(launchRequestOf(a), a);
    expect(handle).toEqual({ externalId: idempotencyKey(a.replicaId, a.generation), created: true });
    expect(await state.readAssignment(handle.externalId)).toEqual(a);
    await ended(handle.externalId);
    expect((await executor.logs(handle.externalId, 'stdout', 0)).data).toBe(`${a.replicaId}\n`);
  });

  it('recovers a replica from a folder of the older layout, and a launch of the same generation finds it', async () => {
    const a = testAssignment({ command: ['sh', '-c', 'echo old; sleep 0.5'], gpuIndices: [], gpuUuids: [] });
    await startReplica(a.replicaId, a, { stateDir: state });
    const recovered = await executor.recover();
    expect(recovered).toEqual([{ externalId: a.replicaId, assignment: a }]);
    expect(await executor.find(idempotencyKey(a.replicaId, a.generation))).toBe(a.replicaId);
    expect(await executor.launch(launchRequestOf(a), a)).toEqual({ externalId: a.replicaId, created: false });
    expect((await executor.status([a.replicaId])).get(a.replicaId)!.state).toBe('running');
    await ended(a.replicaId);
    expect((await executor.status([a.replicaId])).get(a.replicaId)).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(await executor.logs(a.replicaId, 'stdout', 0)).toEqual({ data: 'old\n', nextOffset: 4, done: true });
    await executor.remove(a.replicaId);
    expect(await executor.find(idempotencyKey(a.replicaId, a.generation))).toBeNull();
    expect(await state.listReplicaIds()).toEqual([]);
  });
});
