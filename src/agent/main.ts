import { runAgent, type AgentOptions, type RunningAgent } from './agent.js';

export { runAgent, type AgentOptions, type RunningAgent };

/**
 * `gpufleet agent`: runs until SIGINT or SIGTERM, then stops the agent and leaves the replicas
 * running, so that restarting or upgrading the agent does not interrupt any workload. Rejects when
 * the agent cannot start or gives up.
 */
export async function agentMain(options: AgentOptions): Promise<void> {
  const agent = await runAgent(options);
  const stop = (): void => void agent.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await agent.done;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
