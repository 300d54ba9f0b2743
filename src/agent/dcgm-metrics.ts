import { Gauge, type Registry } from '../observe/metrics.js';
import type { GpuHolder, GpuSample, HolderLookup } from './gpu-telemetry.js';

/**
 * GPU telemetry under the names, units and labels of NVIDIA's dcgm-exporter, so that DCGM Grafana
 * dashboards and OpenCost read a gpufleet agent's /metrics unchanged (docs/gpu-telemetry.md).
 * dcgm-exporter labels each series with gpu, UUID, device, modelName and Hostname, and on Kubernetes
 * with the pod, namespace and container that hold the GPU; gpufleet's holder is a workload of a team,
 * queued in a queue, so those three take their place (empty strings while the GPU is idle).
 */
export const dcgmLabelNames = ['gpu', 'UUID', 'device', 'modelName', 'Hostname', 'workload', 'team', 'queue'] as const;
export type DcgmLabel = (typeof dcgmLabelNames)[number];
export type DcgmLabels = Record<DcgmLabel, string>;

interface MetricDef {
  name: string;
  help: string;
  value: (s: GpuSample) => number | null | undefined;
}

/** Units as dcgm-exporter's: utilization in %, framebuffer in MiB, power in W, temperature in °C, clocks in MHz, activity as a ratio. */
export const dcgmMetricDefs: readonly MetricDef[] = [
  { name: 'DCGM_FI_DEV_GPU_UTIL', help: 'GPU utilization (in %).', value: (s) => s.utilPct },
  { name: 'DCGM_FI_DEV_FB_USED', help: 'Framebuffer memory used (in MiB).', value: (s) => s.fbUsedMiB },
  { name: 'DCGM_FI_DEV_FB_FREE', help: 'Framebuffer memory free (in MiB).', value: (s) => s.fbFreeMiB },
  { name: 'DCGM_FI_DEV_POWER_USAGE', help: 'Power draw (in W).', value: (s) => s.powerW },
  { name: 'DCGM_FI_DEV_GPU_TEMP', help: 'GPU temperature (in C).', value: (s) => s.tempC },
  { name: 'DCGM_FI_DEV_SM_CLOCK', help: 'SM clock frequency (in MHz).', value: (s) => s.smClockMHz },
  { name: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', help: 'Ratio of time the graphics engine is active.', value: (s) => s.grEngineActive },
  { name: 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', help: 'Total number of double-bit volatile ECC errors.', value: (s) => s.eccDbeVolatile },
  { name: 'DCGM_FI_DEV_XID_ERRORS', help: 'Value of the last XID error encountered.', value: (s) => s.xidLast },
];

export interface DcgmMetricsOptions {
  registry: Registry;
  /** The Hostname label: the node's name. */
  hostname: string;
  /** GPU index → model name (the modelName label); GPUs not listed get "unknown". */
  gpus: ReadonlyArray<{ index: number; model: string }>;
  holderOf: HolderLookup;
}

/**
 * Holds one series per GPU and metric. When a GPU's holder changes its label set changes: the old
 * series are removed so that a freed GPU does not keep reporting its last workload. A value the
 * source does not know (null) removes that series rather than exporting a stale or made-up one.
 */
export class DcgmMetrics {
  private readonly gauges: Array<{ def: MetricDef; gauge: Gauge<DcgmLabel> }>;
  private readonly models: Map<number, string>;
  /** The label set each GPU's series carry now. */
  private readonly current = new Map<number, { key: string; labels: DcgmLabels }>();

  constructor(private readonly options: DcgmMetricsOptions) {
    this.models = new Map(options.gpus.map((g) => [g.index, g.model]));
    this.gauges = dcgmMetricDefs.map((def) => ({
      def,
      gauge: new Gauge({ name: def.name, help: def.help, labelNames: dcgmLabelNames, registers: [options.registry] }),
    }));
  }

  /** Sets every gauge from the latest samples; GPUs missing from them lose their series. */
  update(samples: readonly GpuSample[]): void {
    const seen = new Set<number>();
    for (const sample of samples) {
      seen.add(sample.index);
      const labels = this.labelsFor(sample, this.options.holderOf(sample.index));
      const key = labelKey(labels);
      const before = this.current.get(sample.index);
      if (before && before.key !== key) this.removeSeries(before.labels);
      this.current.set(sample.index, { key, labels });
      for (const { def, gauge } of this.gauges) {
        const value = def.value(sample);
        if (typeof value === 'number' && Number.isFinite(value)) gauge.set(labels, value);
        else gauge.remove(labels);
      }
    }
    for (const [index, { labels }] of this.current) {
      if (seen.has(index)) continue;
      this.removeSeries(labels);
      this.current.delete(index);
    }
  }

  private labelsFor(sample: GpuSample, holder: GpuHolder | null): DcgmLabels {
    return {
      gpu: String(sample.index),
      UUID: sample.uuid,
      device: `nvidia${sample.index}`,
      modelName: this.models.get(sample.index) ?? 'unknown',
      Hostname: this.options.hostname,
      workload: holder?.workloadName ?? '',
      team: holder?.team ?? '',
      queue: holder?.queue ?? '',
    };
  }

  private removeSeries(labels: DcgmLabels): void {
    for (const { gauge } of this.gauges) gauge.remove(labels);
  }
}

function labelKey(labels: DcgmLabels): string {
  return dcgmLabelNames.map((n) => labels[n]).join('\u0000');
}
