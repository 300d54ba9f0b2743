import { own, type Findings, type PendingState } from './cycle.js';

/**
 * A workload that allocate turned away hands its findings to the later workloads of the same queue
 * and shape, which would be refused for the same reasons: within one allocate action room and quota
 * only shrink. Shared findings are copied before any change, so what one workload is told later is
 * its own.
 */
export function share(p: PendingState): Findings {
  p.findings.shared = true;
  return p.findings;
}

export function adopt(p: PendingState, findings: Findings): void {
  p.findings = findings;
}

/** Adds a note; those who share findings share the findings with the note, too. */
export function tell(p: PendingState, reason: string): void {
  const found = p.findings;
  if (!found.shared) {
    found.notes = [...found.notes, reason];
    return;
  }
  found.told ??= new Map();
  let next = found.told.get(reason);
  if (!next) found.told.set(reason, (next = { ...found, notes: [...found.notes, reason], reasons: null, told: null }));
  p.findings = next;
}
