import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * Where service replicas are reached: the agent hands each a port and advertises
 * `http://<advertise address>:<port>` to the server, which gives it to the gateway.
 */

/** The first non-internal IPv4 address of this machine, else loopback. */
export function defaultAdvertiseAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** A port no one listens on right now (the kernel's pick); the replica binds it moments later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function endpointUrl(address: string, port: number): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

export interface ProbeTarget {
  replicaId: string;
  url: string;
}

/**
 * Polls each running service replica's readiness path; a 2xx within the timeout is ready. A ready
 * replica turns not ready only after `failureThreshold` failed probes in a row (Kubernetes'
 * default, 3), so one slow answer on a busy machine does not take it out of every gateway. A
 * change in any verdict calls `onChange`, so the agent reports it at once instead of at the next
 * heartbeat.
 */
export class ReadinessProber {
  private readonly ready = new Map<string, boolean>();
  private readonly failures = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;

  constructor(
    private readonly options: { targets: () => ProbeTarget[]; onChange: () => void; intervalMs?: number; timeoutMs?: number; failureThreshold?: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => (this.round ??= this.probeAll().finally(() => (this.round = null))), this.options.intervalMs ?? 500);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.round;
  }

  isReady(replicaId: string): boolean {
    return this.ready.get(replicaId) === true;
  }

  private async probeAll(): Promise<void> {
    const targets = this.options.targets();
    const verdicts = await Promise.all(targets.map(async (t) => [t.replicaId, await probe(t.url, this.options.timeoutMs ?? 1000)] as const));
    let changed = false;
    const seen = new Set<string>();
    for (const [id, ok] of verdicts) {
      seen.add(id);
      const failures = ok ? 0 : (this.failures.get(id) ?? 0) + 1;
      this.failures.set(id, failures);
      const ready = ok || (this.isReady(id) && failures < (this.options.failureThreshold ?? 3));
      if (this.isReady(id) !== ready) changed = true;
      this.ready.set(id, ready);
    }
    for (const id of this.ready.keys()) if (!seen.has(id)) this.ready.delete(id);
    for (const id of this.failures.keys()) if (!seen.has(id)) this.failures.delete(id);
    if (changed) this.options.onChange();
  }
}

async function probe(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
