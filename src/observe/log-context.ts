import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields every log line written while serving one request carries: request_id, trace_id, span_id, workload, workload_id. */
export type LogFields = Record<string, string>;

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `fn` (and what it starts) with `fields` on every log line; `fields` stays shared, so addLogFields reaches it. */
export function runWithLogFields<T>(fields: LogFields, fn: () => T): T {
  return storage.run(fields, fn);
}

/** Adds fields learned while serving a request (the workload a name resolved to); outside a request, nothing. */
export function addLogFields(fields: LogFields): void {
  const current = storage.getStore();
  if (current) Object.assign(current, fields);
}

/** The current request's fields, a copy: pino merges each line's own fields into what it is given. */
export function currentLogFields(): LogFields {
  const current = storage.getStore();
  return current ? { ...current } : {};
}

/** Runs `fn` outside any request: work it starts (a loop woken by a request) is not that request's. */
export function outsideRequest<T>(fn: () => T): T {
  return storage.exit(fn);
}
