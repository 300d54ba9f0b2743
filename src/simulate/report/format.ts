import type { FillReport, ReplayReport } from './types.js';
import { svgCharts, type Chart } from './svg.js';

/** Seconds in the unit that reads best: `45s`, `12.5m`, `3.20h`, `2.1d`. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  if (Math.abs(s) < 120) return `${s.toFixed(1)}s`;
  if (Math.abs(s) < 7200) return `${(s / 60).toFixed(1)}m`;
  if (Math.abs(s) < 4 * 86400) return `${(s / 3600).toFixed(2)}h`;
  return `${(s / 86400).toFixed(1)}d`;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Columns padded to their widest cell, numbers right-aligned. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function replayTable(r: ReplayReport): string {
  const out: string[] = [];
  out.push(`trace: ${r.trace.path} (${r.trace.format}), ${r.trace.jobs} jobs, ${r.trace.badRows.length} bad rows skipped`);
  out.push(`cluster: ${r.cluster.nodes} nodes, ${r.cluster.gpus} GPUs, from ${r.cluster.source}; queues ${r.cluster.queues.join(', ')}`);
  out.push(
    `replayed ${r.jobs.replayed} jobs (${r.jobs.oversize} larger than a node ${r.jobs.oversizeMode === 'drop' ? 'left out' : 'capped to one node'}, ${r.jobs.zeroGpu} without GPUs left out); ` +
      `arrivals × ${r.compressionFactor.toFixed(4)} → offered load ${pct(r.offeredLoad)}; preempted jobs restart ${r.checkpointSeconds ? `from a checkpoint every ${r.checkpointSeconds} s` : 'from scratch'}`,
  );
  if (r.declaredLimits)
    out.push(`assumed: jobs without a time limit declare their runtime × ${r.declaredLimits.factor}, rounded up to ${r.declaredLimits.roundUpSeconds} s (only gpufleet-default reads limits)`);
  out.push('');
  const rows = [['POLICY', 'JCT MEAN', 'P50', 'P95', 'P99', 'WAIT MEAN', 'P50', 'P95', 'P99', 'MAKESPAN', 'ALLOC', 'PREEMPT', 'LOST GPU-H', 'JAIN', 'JAIN P5', 'SECONDS']];
  for (const run of r.runs) {
    const m = run.metrics;
    rows.push([
      run.policy,
      formatSeconds(m.jct.mean), formatSeconds(m.jct.p50), formatSeconds(m.jct.p95), formatSeconds(m.jct.p99),
      formatSeconds(m.wait.mean), formatSeconds(m.wait.p50), formatSeconds(m.wait.p95), formatSeconds(m.wait.p99),
      formatSeconds(m.makespan), pct(m.meanAllocation), String(m.preemptions), (m.lostGpuSeconds / 3600).toFixed(1), m.fairness.jain.toFixed(3), m.fairness.jainP5.toFixed(3), run.seconds.toFixed(1),
    ]);
  }
  out.push(table(rows));
  const queueRows = [['QUEUE', 'POLICY', 'JOBS', 'SHARE', 'ENTITLED', 'JCT MEAN', 'WAIT MEAN', 'WAIT P99']];
  for (const q of r.cluster.queues) {
    for (const run of r.runs) {
      const m = run.metrics.perQueue[q];
      if (!m) continue;
      queueRows.push([q, run.policy, String(m.jobs), pct(m.share), pct(m.entitled), formatSeconds(m.jct.mean), formatSeconds(m.wait.mean), formatSeconds(m.wait.p99)]);
    }
  }
  out.push(table(queueRows));
  return out.join('\n');
}

export function fillTable(r: FillReport): string {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows = [['POLICY', 'PLACEMENT', 'AT 100 %', 'AT 130 %', 'MIN..MAX AT 100', 'UNPLACED', 'S/SEED MAX']];
  for (const run of r.runs) {
    const at100 = run.seeds.map((s) => s.allocatedPct[100]!);
    rows.push([
      run.policy,
      run.placement,
      `${mean(at100).toFixed(2)}%`,
      `${mean(run.seeds.map((s) => s.allocatedPct[130]!)).toFixed(2)}%`,
      `${Math.min(...at100).toFixed(2)}..${Math.max(...at100).toFixed(2)}`,
      mean(run.seeds.map((s) => s.unplaced)).toFixed(0),
      Math.max(...run.seeds.map((s) => s.seconds)).toFixed(2),
    ]);
  }
  const head = [
    `trace: ${r.trace.path} (${r.trace.format}), ${r.trace.pods} pods, ${r.trace.badRows.length} bad rows skipped`,
    `cluster: ${r.cluster.nodes} nodes, ${r.cluster.gpus} GPUs, from ${r.cluster.source}; seeds ${r.runs[0]?.seeds.map((s) => s.seed).join(', ') ?? '-'}`,
    'allocated GPU share once 100 % and 130 % of the GPU capacity has arrived (mean over seeds)',
    '',
  ];
  return head.join('\n') + table(rows);
}

/** Utilization and queue length over time, one line per policy (x: hours since the first submit). */
export function replaySvg(r: ReplayReport): string {
  const over = (pick: (m: ReplayReport['runs'][number]['metrics']) => number[], scale: number) =>
    r.runs.map((run) => {
      const values = pick(run.metrics);
      const width = run.metrics.makespan / values.length / 3600;
      return { name: run.policy, points: values.map((v, k) => [(k + 0.5) * width, v * scale] as const) };
    });
  const charts: Chart[] = [
    { title: 'GPU allocation over time', xLabel: 'hours since the first submit', yLabel: 'allocated GPUs (%)', series: over((m) => m.allocationOverTime, 100) },
    { title: 'Queue length over time', xLabel: 'hours since the first submit', yLabel: 'pending jobs (mean)', series: over((m) => m.queueLengthOverTime, 1) },
  ];
  return svgCharts(charts);
}

/** Fill curves: allocated GPU % against arrived GPU %, mean over seeds, one line per policy. */
export function fillSvg(r: FillReport): string {
  const series = r.runs.map((run) => ({
    name: run.policy,
    points: run.seeds[0]!.allocatedPct.map((_, k) => [k, run.seeds.reduce((sum, s) => sum + s.allocatedPct[k]!, 0) / run.seeds.length] as const),
  }));
  return svgCharts([{ title: 'Fill: allocated GPU share as pods arrive', xLabel: 'arrived GPU demand (% of capacity)', yLabel: 'allocated GPUs (%)', series }]);
}
