import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadinessProber, endpointUrl, freePort } from './service-endpoints.js';

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

describe('service endpoints', () => {
  it('finds a port that can be bound, and writes URLs for IPv4 and IPv6', async () => {
    const port = await freePort();
    const server = createServer().listen(port, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    closers.push(() => server.close());
    expect(endpointUrl('10.0.0.5', port)).toBe(`http://10.0.0.5:${port}`);
    expect(endpointUrl('fe80::1', 80)).toBe('http://[fe80::1]:80');
  });

  it('calls a replica ready once its path answers 2xx, and not ready when it stops answering', async () => {
    let status = 503;
    const server = createServer((req, res) => res.writeHead(req.url === '/v1/models' ? status : 404).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/models`;
    let changes = 0;
    const prober = new ReadinessProber({ targets: () => [{ replicaId: 'r1', url }], onChange: () => changes++, intervalMs: 20, timeoutMs: 500 });
    prober.start();
    closers.push(() => void prober.stop());
    await new Promise((r) => setTimeout(r, 100));
    expect(prober.isReady('r1')).toBe(false);
    status = 200;
    await expect.poll(() => prober.isReady('r1')).toBe(true);
    expect(changes).toBe(1);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await expect.poll(() => prober.isReady('r1')).toBe(false);
    expect(changes).toBe(2);
  });

  it('keeps a ready replica ready through fewer failed probes in a row than the threshold', async () => {
    let failNext = 0;
    let probes = 0;
    const server = createServer((_req, res) => {
      probes++;
      res.writeHead(failNext > 0 ? 503 : 200).end();
      if (failNext > 0) failNext--;
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => void server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    let changes = 0;
    const prober = new ReadinessProber({ targets: () => [{ replicaId: 'r1', url }], onChange: () => changes++, intervalMs: 20, timeoutMs: 500, failureThreshold: 3 });
    prober.start();
    closers.push(() => void prober.stop());
    await expect.poll(() => prober.isReady('r1')).toBe(true);
    failNext = 2;
    await expect.poll(() => failNext === 0).toBe(true);
    const after = probes;
    await expect.poll(() => probes > after + 1).toBe(true);
    expect(prober.isReady('r1')).toBe(true);
    expect(changes).toBe(1);
    // Three in a row take it out (and the next success brings it back).
    failNext = 3;
    await expect.poll(() => changes).toBeGreaterThanOrEqual(2);
  });
});
