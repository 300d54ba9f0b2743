import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ApplyClient } from './commands/apply.js';
import { applyManifests } from './commands/apply.js';
import { CliError } from './errors.js';
import { readManifests } from './manifest-file.js';
import { ClientError } from '../client/http.js';

function failure(run: () => unknown): CliError {
  try {
    run();
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error('expected a CliError');
}

const fleet = `
apiVersion: gpufleet.dev/v1
kind: Job
metadata: { name: train, team: ml }
spec:
  gpus: 2
  command: [python, train.py]
---
apiVersion: gpufleet.dev/v1
kind: Queue
metadata: { name: research }
spec:
  team: ml
  quotas:
    - { gpuModel: H100-80GB, guaranteed: 8, limit: 16 }
---
apiVersion: gpufleet.dev/v1
kind: Team
metadata: { name: ml }
`;

describe('readManifests', () => {
  it('reports a YAML syntax error with its line and column', () => {
    const misindented = 'apiVersion: gpufleet.dev/v1\nkind: Team\nmetadata:\n  name: ml\n bad: x\n';
    expect(failure(() => readManifests(misindented, 'fleet.yaml')).message).toBe(
      'fleet.yaml: line 5, column 1: All mapping items must start at the same column',
    );
    const duplicate = 'kind: Team\n---\nkind: Queue\nkind: Job\n';
    expect(failure(() => readManifests(duplicate, 'fleet.yaml')).message).toBe('fleet.yaml: line 4, column 1: Map keys must be unique');
  });

  it('reports every problem of every invalid document with its field path, and accepts none', () => {
    const text = `
apiVersion: gpufleet.dev/v1
kind: Team
metadata: { name: ml }
---
apiVersion: gpufleet.dev/v1
kind: Queue
metadata: { name: research }
spec:
  team: ml
  quotas:
    - { gpuModel: H100-80GB, guaranteed: 8, limit: 4 }
---
apiVersion: gpufleet.dev/v1
kind: Job
metadata: { name: Train }
spec:
  command: []
`;
    const err = failure(() => readManifests(text, 'fleet.yaml'));
    expect(err.message).toBe('fleet.yaml has 3 problems; nothing was applied');
    expect(err.detailLines).toEqual([
      'fleet.yaml: document 2 (Queue research): spec.quotas[0].limit: limit must be at least guaranteed',
      expect.stringMatching(/^fleet\.yaml: document 3 \(Job Train\): metadata\.name: /),
      'fleet.yaml: document 3 (Job Train): spec.command: must name a program',
    ]);
  });

  it('names documents without a kind by position, and rejects unknown kinds', () => {
    const err = failure(() => readManifests('apiVersion: gpufleet.dev/v1\nkind: Team\nmetadata: {name: a}\n---\n- just a list\n---\napiVersion: gpufleet.dev/v1\nkind: Pod\n', 'f.yaml'));
    expect(err.detailLines).toEqual([
      'f.yaml: document 2: (root): must be a mapping with apiVersion, kind, metadata and spec',
      'f.yaml: document 3 (Pod): kind: must be one of Team, Queue, Job, Service, Cluster',
    ]);
  });

  it('rejects a file with no documents', () => {
    expect(failure(() => readManifests('# nothing here\n', 'f.yaml')).message).toBe('f.yaml holds no documents');
  });
});

describe('applyManifests', () => {
  const activeTrain = {
    name: 'train', queue: 'research', state: 'running', gpus: 2, gpuModel: null, workdir: null, priority: 0,
    gracePeriodSeconds: 10, command: ['python', 'train.py'], env: {},
  };

  function fakeClient(calls: string[], options: { submitFails?: ClientError; active?: object } = {}): ApplyClient {
    return {
      async putTeam(name) {
        calls.push(`putTeam ${name}`);
        return { result: 'unchanged', team: {} as never };
      },
      async putQueue(name, body) {
        calls.push(`putQueue ${name} ${JSON.stringify(body)}`);
        return { result: 'created', queue: {} as never };
      },
      async submitWorkload(body) {
        calls.push(`submitWorkload ${JSON.stringify(body)}`);
        if (options.submitFails) throw options.submitFails;
        return { id: 'j-1', name: body.name } as never;
      },
      async getWorkload(ref, query) {
        calls.push(`getWorkload ${ref} ${query?.team}`);
        return (options.active ?? activeTrain) as never;
      },
      async putService(name, body) {
        calls.push(`putService ${name} ${JSON.stringify(body)}`);
        return { result: 'created', service: {} as never };
      },
      async putCluster(name, body) {
        calls.push(`putCluster ${name} ${JSON.stringify(body)}`);
        return { result: 'created', cluster: {} as never };
      },
    };
  }

  it('applies a cluster before the job kept to it, with its token as a reference', async () => {
    const calls: string[] = [];
    const printed: string[] = [];
    const file = `apiVersion: gpufleet.dev/v1
kind: Job
metadata: {name: sweep}
spec: {cluster: hpc, gpus: 2, command: [python, sweep.py]}
---
apiVersion: gpufleet.dev/v1
kind: Cluster
metadata: {name: hpc}
spec: {backend: slurm, url: "http://slurm-head:6820", user: ml, token: {env: SLURM_JWT}, outputDir: /shared/gpufleet, gpuModels: {h100: H100-80GB}}
`;
    await applyManifests(fakeClient(calls), readManifests(file, 'f.yaml'), 'f.yaml', (line) => printed.push(line));
    expect(calls[0]).toBe(
      'putCluster hpc {"backend":"slurm","url":"http://slurm-head:6820","user":"ml","token":{"env":"SLURM_JWT"},"outputDir":"/shared/gpufleet","gpuModels":{"h100":"H100-80GB"}}',
    );
    expect(calls[1]).toContain('"cluster":"hpc"');
    expect(printed).toEqual(['cluster/hpc created', 'job/sweep created']);
  });

  it('reads the Slurm example', () => {
    const docs = readManifests(readFileSync(new URL('../../examples/slurm-cluster.yaml', import.meta.url), 'utf8'), 'slurm-cluster.yaml');
    expect(docs.map((d) => d.manifest.kind)).toEqual(['Cluster', 'Job']);
  });

  it('names the field of a cluster that is wrong', () => {
    const file = `apiVersion: gpufleet.dev/v1
kind: Cluster
metadata: {name: hpc}
spec: {backend: slurm, url: "slurm-head:6820", user: ml, token: {value: abc}, outputDir: /shared}
`;
    const lines = failure(() => readManifests(file, 'f.yaml')).detailLines.join('\n');
    expect(lines).toContain('spec.url: must be an http:// or https:// URL');
    expect(lines).toContain('spec.token');
  });

  it('applies a service after its queue, with the defaults filled in', async () => {
    const calls: string[] = [];
    const printed: string[] = [];
    const file = `apiVersion: gpufleet.dev/v1
kind: Service
metadata: {name: chat, team: ml}
spec: {model: llama-8b, queue: research, replicas: 3, gpus: 1, command: [gpufleet, sim-model, --model, llama-8b]}
---
apiVersion: gpufleet.dev/v1
kind: Queue
metadata: {name: research}
spec: {team: ml}
`;
    await applyManifests(fakeClient(calls), readManifests(file, 'svc.yaml'), 'svc.yaml', (line) => printed.push(line));
    expect(calls[0]).toMatch(/^putQueue research/);
    expect(JSON.parse(calls[1]!.replace('putService chat ', ''))).toMatchObject({
      model: 'llama-8b', version: 'v1', replicas: 3, gpus: 1, priorityClass: 'inference', port: 'auto', readiness: { path: '/v1/models' }, team: 'ml',
    });
    expect(printed).toEqual(['queue/research created', 'service/chat created']);
  });

  it('names the field of a bad service spec', () => {
    const file = 'apiVersion: gpufleet.dev/v1\nkind: Service\nmetadata: {name: chat}\nspec: {model: "bad model", port: 0, readiness: {path: nope}, command: [x]}\n';
    const err = failure(() => readManifests(file, 'svc.yaml'));
    expect(err.detailLines.join('\n')).toMatch(/spec\.model/);
    expect(err.detailLines.join('\n')).toMatch(/spec\.port/);
    expect(err.detailLines.join('\n')).toMatch(/spec\.readiness\.path/);
  });

  it('applies teams, then queues, then jobs, whatever the file order', async () => {
    const calls: string[] = [];
    const printed: string[] = [];
    await applyManifests(fakeClient(calls), readManifests(fleet, 'fleet.yaml'), 'fleet.yaml', (line) => printed.push(line));
    expect(calls).toEqual([
      'putTeam ml',
      'putQueue research {"team":"ml","priority":0,"quotas":[{"resource":"gpus","gpuModel":"H100-80GB","guaranteed":8,"limit":16,"overQuotaWeight":1,"lendingLimit":null}]}',
      'submitWorkload {"gpus":2,"cpus":0,"memory":0,"replicas":1,"command":["python","train.py"],"env":{},"gracePeriodSeconds":10,"name":"train","team":"ml"}',
    ]);
    expect(printed).toEqual(['team/ml unchanged', 'queue/research created', 'job/train created']);
  });

  it('stops at the first document the server refuses, saying which and what was applied', async () => {
    const refusal = new ClientError('queue research does not exist', 'not_found', 404);
    const err = await applyManifests(fakeClient([], { submitFails: refusal }), readManifests(fleet, 'fleet.yaml'), 'fleet.yaml', () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toBe('fleet.yaml: document 1 (Job train): queue research does not exist');
    expect((err as CliError).detailLines).toEqual(['(the 2 before it were applied)']);
  });

  it('leaves a job that is still active with the same spec alone, and refuses one with another spec', async () => {
    const taken = new ClientError('name: already in use', 'conflict', 409);
    const calls: string[] = [];
    const printed: string[] = [];
    await applyManifests(fakeClient(calls, { submitFails: taken }), readManifests(fleet, 'fleet.yaml'), 'fleet.yaml', (l) => printed.push(l));
    expect(calls.at(-1)).toBe('getWorkload train ml');
    expect(printed.at(-1)).toBe('job/train unchanged');

    const changed = fakeClient([], { submitFails: taken, active: { ...activeTrain, gpus: 4 } });
    const err = await applyManifests(changed, readManifests(fleet, 'fleet.yaml'), 'fleet.yaml', () => {}).catch((e: unknown) => e);
    expect((err as CliError).message).toBe(
      'fleet.yaml: document 1 (Job train): job train is already active with a different spec; cancel it first: gpufleet cancel train',
    );
  });
});
