import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../main.js';

/** `kind: Cluster` over the API: fields checked and named, the token kept as a reference, a status that says why. */
describe('clusters over the API', () => {
  let server: RunningServer;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.bootstrap!.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const spec = { backend: 'slurm', url: 'http://127.0.0.1:9', user: 'ml', token: { env: 'GPUFLEET_TEST_UNSET_JWT' }, outputDir: '/shared/out' };

  beforeAll(async () => {
    server = await startServer({ port: 0, dataDir: 'memory://', logLevel: 'silent', clusterSyncIntervalMs: 100 });
  });
  afterAll(async () => server.close());

  it('names the fields that are wrong', async () => {
    const res = await call('PUT', '/v1/clusters/hpc', { ...spec, backend: 'pbs', url: 'slurm:6820', token: { value: 'eyJ...' } });
    expect(res.status).toBe(400);
    const paths = (res.body['details'] as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['backend', 'url', 'token']));
  });

  it('keeps only the reference to the token, and says on the cluster when it cannot be read', async () => {
    const created = await call('PUT', '/v1/clusters/hpc', spec);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ result: 'created', cluster: { name: 'hpc', status: 'pending', spec: { token: { env: 'GPUFLEET_TEST_UNSET_JWT' }, gpuModels: {} } } });
    let cluster: Record<string, unknown> = {};
    for (let i = 0; i < 100 && cluster['status'] !== 'unauthorized'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      cluster = (await call('GET', '/v1/clusters/hpc')).body;
    }
    expect(cluster).toMatchObject({ status: 'unauthorized', message: "cannot read the Slurm JWT: the server's environment variable GPUFLEET_TEST_UNSET_JWT is not set", nodes: 0 });
    expect((await call('PUT', '/v1/clusters/hpc', spec)).body['result']).toBe('unchanged');
    expect((await call('GET', '/v1/clusters/nope')).status).toBe(404);
  });

  it('a job kept to a cluster must name one that exists and ask for whole GPUs', async () => {
    const unknown = await call('POST', '/v1/workloads', { cluster: 'nope', gpus: 1, command: ['true'] });
    expect(unknown).toMatchObject({ status: 422, body: { message: 'cluster nope does not exist', details: { issues: [{ path: 'cluster' }] } } });
    const share = await call('POST', '/v1/workloads', { cluster: 'hpc', gpus: 0.5, command: ['true'] });
    expect(share).toMatchObject({ status: 400, body: { details: { issues: [{ path: 'cluster', message: 'a cluster runs whole GPUs only; ask for a whole number of gpus' }] } } });
    const topology = await call('POST', '/v1/workloads', { cluster: 'hpc', gpus: 1, topology: { required: 'rack' }, command: ['true'] });
    expect(topology).toMatchObject({ status: 400, body: { details: { issues: [{ path: 'topology.required' }] } } });
    const ok = await call('POST', '/v1/workloads', { cluster: 'hpc', gpus: 1, command: ['true'] });
    expect(ok).toMatchObject({ status: 201, body: { cluster: 'hpc', state: 'pending' } });
  });
});
