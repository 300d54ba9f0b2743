import type { AlertView, BudgetStatusView, CostReportView, EventView, GpuTopRow, WasteReportView } from '../core/telemetry-api.js';
import type { z } from 'zod';
import { HttpClient, type HttpOptions } from './http.js';
import type {
  ApplyResult,
  Explanation,
  WorkloadEvent,
  LogsPage,
  Node,
  Queue,
  Role,
  Team,
  Whoami,
  Workload,
  joinTokenCreatedSchema,
  queuePutSchema,
  teamPutSchema,
  tokenCreatedSchema,
  workloadSubmitSchema,
} from '../core/api-types.js';
import type { WorkloadState } from '../core/workload-state.js';
import type { Cluster, clusterPutSchema } from '../core/cluster-types.js';
import type { Service, ServiceEndpoint, servicePutSchema } from '../core/service-types.js';
import type { GatewayReport } from '../core/gateway-report.js';

export interface RolloutStatus {
  service: string;
  version: string;
  weights: Service['weights'];
  rollout: Service['rollout'];
}

/** Request bodies are what a caller may send (defaults still unapplied), so they are the schemas' inputs. */
export type TeamPut = z.input<typeof teamPutSchema>;
export type QueuePut = z.input<typeof queuePutSchema>;
export type WorkloadSubmitBody = z.input<typeof workloadSubmitSchema>;
export type ServicePutBody = z.input<typeof servicePutSchema>;
export type ClusterPutBody = z.input<typeof clusterPutSchema>;
export type TokenCreate = { name: string; role: Role; team?: string | undefined };
export type TokenCreated = z.infer<typeof tokenCreatedSchema>;
export type JoinTokenCreated = z.infer<typeof joinTokenCreatedSchema>;

export interface WorkloadListQuery {
  team?: string | undefined;
  state?: WorkloadState | undefined;
  /** Undefined leaves the server's default: active workloads and recently finished ones. */
  all?: boolean | undefined;
  limit?: number | undefined;
}

const path = encodeURIComponent;

/** One typed method per user route of docs/api.md. */
export class GpufleetClient {
  readonly http: HttpClient;

  constructor(options: HttpOptions) {
    this.http = new HttpClient({ userAgent: 'gpufleet-cli', ...options });
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  whoami(): Promise<Whoami> {
    return this.http.request('GET', '/v1/whoami');
  }

  createToken(body: TokenCreate): Promise<TokenCreated> {
    return this.http.request('POST', '/v1/tokens', { body });
  }

  createJoinToken(): Promise<JoinTokenCreated> {
    return this.http.request('POST', '/v1/join-tokens', { body: {} });
  }

  async listTeams(): Promise<Team[]> {
    return (await this.http.request<{ items: Team[] }>('GET', '/v1/teams')).items;
  }

  getTeam(name: string): Promise<Team> {
    return this.http.request('GET', `/v1/teams/${path(name)}`);
  }

  putTeam(name: string, body: TeamPut = {}): Promise<{ result: ApplyResult; team: Team }> {
    return this.http.request('PUT', `/v1/teams/${path(name)}`, { body });
  }

  deleteTeam(name: string): Promise<void> {
    return this.http.request('DELETE', `/v1/teams/${path(name)}`);
  }

  async listQueues(): Promise<Queue[]> {
    return (await this.http.request<{ items: Queue[] }>('GET', '/v1/queues')).items;
  }

  getQueue(name: string): Promise<Queue> {
    return this.http.request('GET', `/v1/queues/${path(name)}`);
  }

  putQueue(name: string, body: QueuePut): Promise<{ result: ApplyResult; queue: Queue }> {
    return this.http.request('PUT', `/v1/queues/${path(name)}`, { body });
  }

  deleteQueue(name: string): Promise<void> {
    return this.http.request('DELETE', `/v1/queues/${path(name)}`);
  }

  putService(name: string, body: ServicePutBody): Promise<{ result: ApplyResult; service: Service }> {
    return this.http.request('PUT', `/v1/services/${path(name)}`, { body });
  }

  /** Every service the token may see, each with its ready endpoints. */
  async listServices(signal?: AbortSignal): Promise<Service[]> {
    return (await this.http.request<{ items: Service[] }>('GET', '/v1/services', { signal })).items;
  }

  getService(name: string, options: { team?: string | undefined } = {}): Promise<Service> {
    return this.http.request('GET', `/v1/services/${path(name)}`, { query: { team: options.team } });
  }

  async listServiceEndpoints(name: string, options: { team?: string | undefined } = {}): Promise<ServiceEndpoint[]> {
    return (await this.http.request<{ items: ServiceEndpoint[] }>('GET', `/v1/services/${path(name)}/endpoints`, { query: { team: options.team } })).items;
  }

  /** A rollout's state; `promote`/`abort` end it now. */
  rollout(name: string, action: 'status' | 'promote' | 'abort', options: { team?: string | undefined } = {}): Promise<RolloutStatus> {
    const url = `/v1/services/${path(name)}/rollout${action === 'status' ? '' : `/${action}`}`;
    return this.http.request(action === 'status' ? 'GET' : 'POST', url, { query: { team: options.team } });
  }

  /** A gateway's counters and held requests (admin tokens). */
  reportGateway(report: GatewayReport, signal?: AbortSignal): Promise<void> {
    return this.http.request('POST', '/v1/gateway/reports', { body: report, signal });
  }

  deleteService(name: string, options: { team?: string | undefined } = {}): Promise<void> {
    return this.http.request('DELETE', `/v1/services/${path(name)}`, { query: { team: options.team } });
  }

  submitWorkload(body: WorkloadSubmitBody): Promise<Workload> {
    return this.http.request('POST', '/v1/workloads', { body });
  }

  async listWorkloads(query: WorkloadListQuery = {}): Promise<Workload[]> {
    const { all, ...rest } = query;
    const response = await this.http.request<{ items: Workload[] }>('GET', '/v1/workloads', {
      query: { ...rest, all: all === undefined ? undefined : String(all) },
    });
    return response.items;
  }

  /** `ref` is an id or a name; a name resolves to the newest workload of that name in the team. */
  getWorkload(ref: string, options: { team?: string | undefined } = {}): Promise<Workload> {
    return this.http.request('GET', `/v1/workloads/${path(ref)}`, { query: { team: options.team } });
  }

  cancelWorkload(ref: string, options: { team?: string | undefined } = {}): Promise<Workload> {
    return this.http.request('POST', `/v1/workloads/${path(ref)}/cancel`, { query: { team: options.team }, body: {} });
  }

  /** Why the workload waits (ranked reasons), or how it ended. */
  explainWorkload(ref: string, options: { team?: string | undefined } = {}): Promise<Explanation> {
    return this.http.request('GET', `/v1/workloads/${path(ref)}/explain`, { query: { team: options.team } });
  }

  async listWorkloadEvents(ref: string, options: { team?: string | undefined } = {}): Promise<WorkloadEvent[]> {
    return (await this.http.request<{ items: WorkloadEvent[] }>('GET', `/v1/workloads/${path(ref)}/events`, { query: { team: options.team } })).items;
  }

  /** Log entries after `after` (a cursor from the previous page); waits up to `waitMs` for new ones. */
  getLogs(ref: string, after = 0, waitMs = 0, signal?: AbortSignal): Promise<LogsPage> {
    return this.http.request('GET', `/v1/workloads/${path(ref)}/logs`, { query: { after, waitMs }, waitMs, signal });
  }

  async listNodes(): Promise<Node[]> {
    return (await this.http.request<{ items: Node[] }>('GET', '/v1/nodes')).items;
  }

  getCost(query: { since?: string | undefined; until?: string | undefined; team?: string | undefined }): Promise<CostReportView> {
    return this.http.request('GET', '/v1/cost', { query });
  }

  getWaste(query: { since?: string | undefined; until?: string | undefined; team?: string | undefined; activityBelow?: number | undefined; longerThan?: string | undefined }): Promise<WasteReportView> {
    return this.http.request('GET', '/v1/waste', { query });
  }

  async listEvents(query: { since?: string | undefined; until?: string | undefined; kind?: string | undefined; target?: string | undefined; actor?: string | undefined; after?: number | undefined; limit?: number | undefined }): Promise<EventView[]> {
    return (await this.http.request<{ items: EventView[] }>('GET', '/v1/events', { query })).items;
  }

  listAlerts(since?: string): Promise<{ firing: AlertView[]; history: AlertView[] }> {
    return this.http.request('GET', '/v1/alerts', { query: { since } });
  }

  async listBudgets(): Promise<BudgetStatusView[]> {
    return (await this.http.request<{ items: BudgetStatusView[] }>('GET', '/v1/budgets')).items;
  }

  async listGpus(): Promise<GpuTopRow[]> {
    return (await this.http.request<{ items: GpuTopRow[] }>('GET', '/v1/gpus')).items;
  }

  putCluster(name: string, body: ClusterPutBody): Promise<{ result: ApplyResult; cluster: Cluster }> {
    return this.http.request('PUT', `/v1/clusters/${path(name)}`, { body });
  }

  async listClusters(): Promise<Cluster[]> {
    return (await this.http.request<{ items: Cluster[] }>('GET', '/v1/clusters')).items;
  }

  getCluster(name: string): Promise<Cluster> {
    return this.http.request('GET', `/v1/clusters/${path(name)}`);
  }

  /** Refused (409) while workloads are active on it, unless `force` requeues them and cancels their jobs. */
  deleteCluster(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.http.request('DELETE', `/v1/clusters/${path(name)}`, { query: { force: options.force ? 'true' : undefined } });
  }
}
