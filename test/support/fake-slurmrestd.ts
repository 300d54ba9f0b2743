import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from './local-http-server.js';

export interface FakeJob {
  job_id: number;
  name: string;
  comment: string;
  job_state: string;
  restart_cnt: number;
  standard_output: string;
  standard_error: string;
}

/** Just enough of slurmrestd v0.0.38 for the cluster loop: one machine with two H100s, jobs that run until signalled. */
export class FakeSlurmRestd extends LocalHttpServer {
  readonly jobs = new Map<number, FakeJob>();
  /** Job ids and the signals sent to them, in order. */
  readonly signals: Array<[number, string]> = [];
  /** Signals answered with an error, as a slurmctld that refuses them would. */
  refuseSignals = false;
  /** Requests by method and path, e.g. `GET jobs`, `GET job/3`. */
  readonly requests: string[] = [];
  private nextId = 1;

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname.replace('/slurm/v0.0.38/', '');
    this.requests.push(`${req.method} ${path}`);
    const send = (body: unknown, status = 200): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === 'nodes') return send({ nodes: [{ name: 'm1', state: 'idle', cpus: 8, real_memory: 64_000, gres: 'gpu:h100:2', partitions: ['gpu'] }] });
    if (path === 'partitions') return send({ partitions: [{ name: 'gpu', state: 'UP' }] });
    if (path === 'jobs') return send({ jobs: [...this.jobs.values()] });
    if (path === 'job/submit') {
      const { job } = JSON.parse(Buffer.concat(parts).toString('utf8')) as { job: { name: string; comment: string; standard_output: string; standard_error: string } };
      const id = this.nextId++;
      this.jobs.set(id, { job_id: id, name: job.name, comment: job.comment, job_state: 'RUNNING', restart_cnt: 0, standard_output: job.standard_output, standard_error: job.standard_error });
      return send({ job_id: id });
    }
    const job = this.jobs.get(Number(/^job\/(\d+)$/.exec(path)?.[1]));
    if (!job) return send({ errors: [{ error_number: 2017, error: 'Invalid job id specified' }] }, 500);
    if (req.method === 'GET') return send({ jobs: [job] });
    if (this.refuseSignals) return send({ errors: [{ error_number: 2020, error: 'Access/permission denied' }] }, 500);
    const signal = url.searchParams.get('signal') ?? 'SIGKILL';
    this.signals.push([job.job_id, signal]);
    job.job_state = 'CANCELLED';
    send({});
  }
}
