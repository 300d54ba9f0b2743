import type { Assignment } from '../../src/core/agent-protocol.js';

let seq = 0;

/** An assignment as the server sends it, with a fresh replica id unless the test names one. */
export function testAssignment(overrides: Partial<Assignment> = {}): Assignment {
  seq++;
  return {
    replicaId: `r-test${seq}`,
    workloadId: `j-${seq}`,
    workloadName: 'train',
    team: 'ml',
    queue: 'ml-q',
    generation: 1,
    desired: 'run',
    gpuIndices: [0, 1],
    gpuUuids: ['GPU-sim-n-0', 'GPU-sim-n-1'],
    command: ['true'],
    env: {},
    workdir: null,
    gracePeriodMs: 5000,
    ...overrides,
  };
}
