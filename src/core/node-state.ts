/** A node is `ready` while it heartbeats, `suspect` after missed heartbeats, `lost` after more. */
export const nodeStates = ['ready', 'suspect', 'lost', 'draining'] as const;
export type NodeState = (typeof nodeStates)[number];

export interface NodeHealthConfig {
  suspectAfterMs: number;
  lostAfterMs: number;
}

/** The state a node's silence implies; `draining` is an operator's choice and silence does not undo it. */
export function nodeStateForSilence(current: NodeState, silentForMs: number, cfg: NodeHealthConfig): NodeState {
  if (current === 'lost') return 'lost';
  if (silentForMs >= cfg.lostAfterMs) return 'lost';
  if (silentForMs >= cfg.suspectAfterMs) return current === 'draining' ? 'draining' : 'suspect';
  return current === 'suspect' ? 'ready' : current;
}
