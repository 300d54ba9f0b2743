import { z } from 'zod';
import { nameSchema } from './names.js';
import { queueSpecSchema, jobSpecSchema } from './api-types.js';
import { serviceSpecSchema } from './service-types.js';
import { clusterSpecSchema } from './cluster-types.js';
import { fieldIssues } from './zod-issues.js';
import type { FieldIssue } from './errors.js';

/** The YAML kinds `gpufleet apply -f` accepts, one schema per kind, all under apiVersion gpufleet.dev/v1. */
export const apiVersion = 'gpufleet.dev/v1';

const metadataSchema = z.strictObject({ name: nameSchema });
const teamScopedMetadataSchema = z.strictObject({ name: nameSchema, team: nameSchema.optional() });

/** One kind's document: the same envelope around its own metadata and spec. */
function manifestSchema<K extends string, M extends z.ZodType, S extends z.ZodType>(kind: K, metadata: M, spec: S) {
  return z.strictObject({ apiVersion: z.literal(apiVersion), kind: z.literal(kind), metadata, spec });
}

export const teamManifestSchema = manifestSchema('Team', metadataSchema, z.strictObject({}).optional());
export const queueManifestSchema = manifestSchema('Queue', metadataSchema, queueSpecSchema);
export const jobManifestSchema = manifestSchema('Job', teamScopedMetadataSchema, jobSpecSchema);
export const serviceManifestSchema = manifestSchema('Service', teamScopedMetadataSchema, serviceSpecSchema);
export const clusterManifestSchema = manifestSchema('Cluster', metadataSchema, clusterSpecSchema);

export type TeamManifest = z.infer<typeof teamManifestSchema>;
export type QueueManifest = z.infer<typeof queueManifestSchema>;
export type JobManifest = z.infer<typeof jobManifestSchema>;
export type ServiceManifest = z.infer<typeof serviceManifestSchema>;
export type ClusterManifest = z.infer<typeof clusterManifestSchema>;
export type Manifest = TeamManifest | QueueManifest | JobManifest | ServiceManifest | ClusterManifest;

export const manifestKinds = { Team: teamManifestSchema, Queue: queueManifestSchema, Job: jobManifestSchema, Service: serviceManifestSchema, Cluster: clusterManifestSchema } as const;

export type ManifestParse = { ok: true; manifest: Manifest } | { ok: false; issues: FieldIssue[] };

/** Validates one parsed YAML document; issues name the field path, e.g. `spec.quotas[0].limit`. */
export function parseManifest(doc: unknown): ManifestParse {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return { ok: false, issues: [{ path: '(root)', message: 'must be a mapping with apiVersion, kind, metadata and spec' }] };
  const { apiVersion: version, kind } = doc as { apiVersion?: unknown; kind?: unknown };
  if (version !== apiVersion) return { ok: false, issues: [{ path: 'apiVersion', message: `must be ${apiVersion}` }] };
  if (typeof kind !== 'string' || !(kind in manifestKinds))
    return { ok: false, issues: [{ path: 'kind', message: `must be one of ${Object.keys(manifestKinds).join(', ')}` }] };
  const schema = manifestKinds[kind as keyof typeof manifestKinds];
  const result = schema.safeParse(doc);
  return result.success ? { ok: true, manifest: result.data } : { ok: false, issues: fieldIssues(result.error) };
}
