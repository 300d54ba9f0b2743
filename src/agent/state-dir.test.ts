import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testAssignment } from '../../test/support/assignments.js';
import type { Assignment } from '../core/agent-protocol.js';
import { StateDir } from './state-dir.js';

function assignmentFor(overrides: Partial<Assignment> = {}): Assignment {
  return testAssignment({ replicaId: 'r-abc123', workloadId: 'j-xyz789', command: ['sh', '-c', 'echo hi'], gracePeriodMs: 1000, ...overrides });
}

describe('StateDir', () => {
  let root: string;
  let state: StateDir;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gpufleet-state-'));
    state = new StateDir(join(root, 'agent'));
    await state.init();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps the node identity readable by its owner only', async () => {
    expect(await state.readNode()).toBeNull();
    const identity = { nodeId: 'n-1', credential: 'gfn_secret', name: 'gpu-01', serverUrl: 'http://server:7070' };
    await state.writeNode(identity);
    expect(await state.readNode()).toEqual(identity);
    expect((await stat(join(state.root, 'node.json'))).mode & 0o777).toBe(0o600);
    await state.writeNode({ ...identity, credential: 'gfn_other' });
    expect((await state.readNode())?.credential).toBe('gfn_other');
    expect((await readdir(state.root)).sort()).toEqual(['node.json', 'replicas']);
  });

  it('round-trips a replica folder', async () => {
    const assignment = assignmentFor();
    await state.createReplica('r-abc123', assignment);
    expect(await state.listReplicaIds()).toEqual(['r-abc123']);
    expect(await state.readAssignment('r-abc123')).toEqual(assignment);

    expect(await state.readPid('r-abc123')).toBeNull();
    await state.writePid('r-abc123', { pid: 4242, startTime: '123456' });
    expect(await state.readPid('r-abc123')).toEqual({ pid: 4242, startTime: '123456' });
    expect(await readFile(state.replica('r-abc123').pid, 'utf8')).toBe('4242\n');

    expect(await state.readExit('r-abc123')).toBeNull();
    await state.writeExit('r-abc123', { exitCode: 3, message: 'exited with code 3', stopped: false });
    expect(await state.readExit('r-abc123')).toEqual({ exitCode: 3, message: 'exited with code 3', stopped: false });

    expect(await state.readShipped('r-abc123')).toEqual({ stdout: 0, stderr: 0 });
    await state.writeShipped('r-abc123', { stdout: 10, stderr: 4 });
    expect(await state.readShipped('r-abc123')).toEqual({ stdout: 10, stderr: 4 });

    await state.removeReplica('r-abc123');
    expect(await state.listReplicaIds()).toEqual([]);
  });

  it('reads the bare status the launch wrapper writes', async () => {
    await state.createReplica('r-abc123', assignmentFor());
    await writeFile(state.replica('r-abc123').exit, '0\n');
    expect(await state.readExit('r-abc123')).toEqual({ exitCode: 0, message: null, stopped: false });
    await writeFile(state.replica('r-abc123').exit, '143\n');
    expect(await state.readExit('r-abc123')).toEqual({ exitCode: 143, message: null, stopped: false });
  });

  it('treats damaged files as unknown rather than failing', async () => {
    await state.createReplica('r-abc123', assignmentFor());
    await writeFile(state.replica('r-abc123').shipped, '{"stdout": 1');
    await writeFile(state.replica('r-abc123').exit, '');
    expect(await state.readShipped('r-abc123')).toEqual({ stdout: 0, stderr: 0 });
    expect(await state.readExit('r-abc123')).toBeNull();
    await writeFile(state.replica('r-abc123').pid, 'not a pid\n');
    expect(await state.readPid('r-abc123')).toBeNull();
    await state.writePid('r-abc123', { pid: 77, startTime: null });
    expect(await state.readPid('r-abc123')).toEqual({ pid: 77, startTime: null });
  });

  it('refuses replica ids that would leave the replicas folder', async () => {
    expect(() => state.replica('../node')).toThrow(/cannot name a replica folder/);
    expect(() => state.replica('a/b')).toThrow(/cannot name a replica folder/);
    await mkdir(join(state.root, 'replicas', '.hidden'));
    expect(await state.listReplicaIds()).toEqual([]);
  });

  it('lists nothing before the first start', async () => {
    expect(await new StateDir(join(root, 'never')).listReplicaIds()).toEqual([]);
  });
});
