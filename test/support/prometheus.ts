import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from './fleet.js';

/**
 * A real Prometheus (Debian's `prometheus` package, installed by .ci/run) in a temporary folder with
 * its own config and database, scraping the given targets every second.
 */

export interface ScrapeTarget {
  job: string;
  /** The full URL of the metrics endpoint, e.g. http://127.0.0.1:7071/metrics. */
  url: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export const prometheusBinary = process.env.PROMETHEUS_BIN ?? 'prometheus';

export class PrometheusProcess {
  readonly dir = tempDir('prometheus');
  url = '';
  private child: ChildProcess | undefined;
  private out = '';

  constructor(private readonly targets: ScrapeTarget[]) {}

  async start(): Promise<this> {
    const port = await freePort();
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      'scrape_configs:',
      ...this.targets.flatMap((t) => {
        const u = new URL(t.url);
        return [`  - job_name: ${JSON.stringify(t.job)}`, `    metrics_path: ${JSON.stringify(u.pathname)}`, `    static_configs:`, `      - targets: [${JSON.stringify(u.host)}]`];
      }),
    ].join('\n');
    writeFileSync(join(this.dir, 'prometheus.yml'), `${config}\n`);
    this.child = spawn(
      prometheusBinary,
      [`--config.file=${join(this.dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(this.dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.url = `http://127.0.0.1:${port}`;
    const child = this.child;
    try {
      await waitFor(`Prometheus at ${this.url}`, async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${this.out}`);
        return (await fetch(`${this.url}/-/ready`)).ok;
      }, 30_000, 100);
    } catch (err) {
      await this.stop();
      throw err;
    }
    return this;
  }

  output(): string {
    return this.out;
  }

  /** An instant PromQL query; rejects on a query error. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
    return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Waits until `promql` returns samples that `accept` takes; returns them. */
  until(promql: string, accept: (samples: PromSample[]) => boolean, timeoutMs = 30_000): Promise<PromSample[]> {
    return waitFor(`PromQL ${promql} to return the expected series`, async () => {
      const samples = await this.query(promql);
      return accept(samples) ? samples : undefined;
    }, timeoutMs, 250);
  }

  /** The health of each scrape target (up, down, unknown) by job. */
  async targetHealth(): Promise<Record<string, string>> {
    const body = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> } };
    return Object.fromEntries(body.data.activeTargets.map((t) => [t.labels.job, t.lastError ? `${t.health}: ${t.lastError}` : t.health]));
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
