/**
 * The gateway's routing table: model → versions (each with a traffic weight) → ready replicas.
 * A snapshot is plain data so that whatever feeds it (a static list today, a watch on the
 * server's services later) only has to produce a new snapshot and hand it to `setTable()`.
 */
export interface ReplicaEndpoint {
  /** Unique across the table; load counts and prefix affinity are keyed by it. */
  id: string;
  /** Base URL of the model server, e.g. `http://10.0.0.5:8000` (no path). */
  url: string;
}

export interface ModelVersionRoute {
  version: string;
  /** Relative share of the model's traffic; 0 takes none (unless no other version has a replica left). */
  weight: number;
  replicas: ReplicaEndpoint[];
}

export interface ModelRoute {
  model: string;
  versions: ModelVersionRoute[];
  /** With no replica, hold requests until one is ready (an autoscaled service starting from zero) instead of 503 at once. */
  holdWhenEmpty?: boolean;
}

export interface RoutingTableSnapshot {
  /** Monotonic revision from the feeder (the server's watch); informational here. */
  revision?: number;
  models: ModelRoute[];
}

/** A replica as the proxy uses it: endpoint plus parsed address and its version. */
export interface RoutedReplica {
  id: string;
  url: string;
  version: string;
  hostname: string;
  port: number;
}

export interface ResolvedVersion {
  version: string;
  weight: number;
  replicas: RoutedReplica[];
}

export interface ResolvedModel {
  model: string;
  versions: ResolvedVersion[];
  /** Every replica of every version, for retries across versions. */
  all: RoutedReplica[];
  holdWhenEmpty: boolean;
}

/** An indexed, immutable view of one snapshot. */
export class RoutingTable {
  private readonly byModel = new Map<string, ResolvedModel>();

  constructor(readonly snapshot: RoutingTableSnapshot) {
    for (const route of snapshot.models) {
      const versions = route.versions.map((v) => ({
        version: v.version,
        weight: Math.max(0, v.weight),
        replicas: v.replicas.map((r) => resolveReplica(r, v.version)),
      }));
      this.byModel.set(route.model, { model: route.model, versions, all: versions.flatMap((v) => v.replicas), holdWhenEmpty: route.holdWhenEmpty === true });
    }
  }

  lookup(model: string): ResolvedModel | undefined {
    return this.byModel.get(model);
  }

  models(): string[] {
    return [...this.byModel.keys()];
  }
}

function resolveReplica(endpoint: ReplicaEndpoint, version: string): RoutedReplica {
  const parsed = new URL(endpoint.url);
  if (parsed.protocol !== 'http:') throw new Error(`replica ${endpoint.id}: only http:// upstreams are supported (${endpoint.url})`);
  const hostname = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return { id: endpoint.id, url: endpoint.url, version, hostname, port: Number(parsed.port || 80) };
}

/** The common one-version case: `{model: [url, …]}` → a snapshot with version "v1", weight 1. */
export function staticTable(models: Record<string, string[]>): RoutingTableSnapshot {
  return {
    models: Object.entries(models).map(([model, urls]) => ({
      model,
      versions: [{ version: 'v1', weight: 1, replicas: urls.map((url, i) => ({ id: `${model}/v1/${i}`, url })) }],
    })),
  };
}
