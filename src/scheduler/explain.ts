import type { Cycle, Findings } from './cycle.js';
import type { PlaceFailure } from './placement.js';
import { describeRequest, isFractional } from './resources.js';
import type { PendingWorkload } from './types.js';
import { planeOfLabel } from '../core/cluster-types.js';

/** Why `workload` found no room on `model`, in the words a user would look for. */
export function describeRoomFailure(cycle: Cycle, workload: PendingWorkload, model: string | null, failure: PlaceFailure): string {
  const { request, replicas } = workload;
  if (model === null) return `no ready node has ${request.cpus} CPUs and ${request.memoryMiB} MiB of memory free`;
  const what = `${describeRequest(request)} of ${model}`;
  const plane = failure.topology === null ? null : planeOfLabel(failure.topology);
  if (plane !== null) return `${plane.noRoom} for ${replicas > 1 ? `all ${replicas} replicas of ` : ''}${what} (${plane.why})`;
  if (failure.topology !== null) {
    const where = failure.topology === 'node' ? 'one node' : `one ${failure.topology}`;
    return `no ${failure.topology === 'node' ? 'node' : failure.topology} has room for all ${replicas} replicas of ${what} (required: all in ${where})`;
  }
  if (isFractional(request)) return `no ${model} GPU has ${describeRequest(request)} free`;
  const largest = cycle.fleet.largestFree(model);
  if (replicas > 1) {
    let slots = 0;
    for (let k = Math.max(1, request.gpus); k <= largest; k++) slots += Math.floor(k / request.gpus) * cycle.fleet.nodesWithFree(model, k).size;
    return `gang of ${replicas} replicas × ${what} must start together; only ${slots} fit now`;
  }
  if (largest < request.gpus) return `no node has ${request.gpus} free ${model} GPUs (most free on one node: ${largest})`;
  const extra = [request.cpus > 0 ? `${request.cpus} CPUs` : '', request.memoryMiB > 0 ? `${request.memoryMiB} MiB of memory` : ''].filter(Boolean);
  return extra.length > 0
    ? `no node with ${request.gpus} free ${model} GPUs also has ${extra.join(' and ')} free`
    : `no node has ${request.gpus} free ${model} GPUs that it may take now`;
}

/** Writes every still-pending workload's reasons, the most actionable first, without repeats. */
export function explainPending(cycle: Cycle): void {
  for (const p of cycle.pending) {
    if (p.placed) continue;
    const found = p.findings;
    const reasons = found.shared ? (found.reasons ??= reasonsOf(found)) : reasonsOf(found);
    cycle.plan.pending.push({ workloadId: p.source.id, reasons });
  }
}

function reasonsOf(found: Findings): string[] {
  const { limit, waiting, room, notes } = found;
  const total = limit.length + waiting.length + room.length + notes.length;
  if (total === 0) return ['waiting for its turn'];
  // Most of a large backlog has one reason; its list is used as is.
  return total === room.length && total === 1 ? room : distinct([limit, waiting, room, notes]);
}

/** The reasons of all lists in order, each once; the lists are short, so `includes` beats a Set. */
function distinct(lists: string[][]): string[] {
  const out: string[] = [];
  for (const list of lists) for (const reason of list) if (!out.includes(reason)) out.push(reason);
  return out;
}
