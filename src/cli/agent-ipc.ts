import type { Gpu } from '../core/api-types.js';

/** What an agent started by `gpufleet up` tells its parent over the IPC channel once it has joined. */
export interface AgentJoinedMessage {
  type: 'gpufleet-agent-joined';
  nodeId: string;
  name: string;
  simulated: boolean;
  gpus: Gpu[];
  metricsUrl: string | null;
}

export function isAgentJoinedMessage(value: unknown): value is AgentJoinedMessage {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'gpufleet-agent-joined';
}
