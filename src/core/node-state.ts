/** A node is `ready` while it heartbeats, `suspect` after missed heartbeats, `lost` after more. */
export const nodeStates = ['ready', 'suspect', 'lost', 'draining'] as const;
export type NodeState = (typeof nodeStates)[number];

export interface NodeHealthConfig {
  suspectAfterMs: number;
  lostAfterMs: number;
}

/**
 * The next state a node's silence implies, one step at a time: a ready node goes suspect before it
 * goes lost, however long it was silent (a health check held up past both bounds would otherwise
 * skip suspect, and the node's history would not tell it); `draining` is an operator's choice that
 * silence does not undo short of lost.
 */
export function nodeStateForSilence(current: NodeState, silentForMs: number, cfg: NodeHealthConfig): NodeState {
  if (current === 'lost') return 'lost';
  if (silentForMs >= cfg.lostAfterMs && current !== 'ready') return 'lost';
  if (silentForMs >= cfg.suspectAfterMs) return current === 'draining' ? 'draining' : 'suspect';
  return current === 'suspect' ? 'ready' : current;
}
