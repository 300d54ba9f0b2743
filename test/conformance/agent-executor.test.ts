import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AgentExecutor } from '../../src/agent/agent-executor.js';
import { simulatedGpus } from '../../src/agent/gpu-discovery.js';
import { StateDir } from '../../src/agent/state-dir.js';
import { tempDir } from '../support/fleet.js';
import { executorConformance } from '../support/executor-conformance.js';

// The agent's plane: real process groups on this machine, in a state dir of their own.
executorConformance('agent', async () => {
  const dir = tempDir('agent-executor');
  const stateDir = new StateDir(join(dir, 'state'));
  await stateDir.init();
  const executor = new AgentExecutor({ nodeName: 'conformance', stateDir, gpus: simulatedGpus('2xH100-80GB', 'conformance'), cpus: 2, memoryMiB: 1024 });
  return {
    executor,
    unknownId: 'r-neverlaunched.1',
    workdir: dir,
    async stop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
