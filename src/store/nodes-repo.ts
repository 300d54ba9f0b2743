import { sql } from 'kysely';
import type { Db } from './db.js';
import type { GpuRow, NodeRow } from './schema.js';
import type { Gpu } from '../core/api-types.js';
import type { NodeState } from '../core/node-state.js';

export function getNodeById(db: Db, id: string): Promise<NodeRow | undefined> {
  return db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The inventory: nodes that left it (their cluster was deleted) are kept only for their replicas' history. */
export function getNodeByName(db: Db, name: string): Promise<NodeRow | undefined> {
  return db.selectFrom('nodes').selectAll().where('name', '=', name).where('removed_at', 'is', null).executeTakeFirst();
}

export function listNodes(db: Db): Promise<NodeRow[]> {
  return db.selectFrom('nodes').selectAll().where('removed_at', 'is', null).orderBy('name').execute();
}

export function listGpus(db: Db, nodeId?: string): Promise<GpuRow[]> {
  let q = db.selectFrom('gpus').selectAll().orderBy('node_id').orderBy('idx');
  if (nodeId !== undefined) q = q.where('node_id', '=', nodeId);
  return q.execute();
}

export interface NodeRegistration {
  name: string;
  simulated: boolean;
  labels: Record<string, string>;
  cpus: number;
  memoryMiB: number;
  agentVersion: string;
  credentialHash: string;
}

/** What a registration sets, on a new node and on one that registers again alike. */
function registrationColumns(reg: NodeRegistration, now: Date) {
  return {
    state: 'ready' as const,
    simulated: reg.simulated,
    labels: JSON.stringify(reg.labels),
    cpus: reg.cpus,
    memory_mib: reg.memoryMiB,
    agent_version: reg.agentVersion,
    credential_hash: reg.credentialHash,
    last_heartbeat_at: now,
  };
}

export function insertNode(db: Db, id: string, reg: NodeRegistration, now: Date): Promise<NodeRow> {
  return db
    .insertInto('nodes')
    .values({ id, name: reg.name, ...registrationColumns(reg, now) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A node that registers again (new agent install, lost state) gets a new credential; its id stays. */
export function reregisterNode(db: Db, id: string, reg: NodeRegistration, now: Date): Promise<NodeRow> {
  return db
    .updateTable('nodes')
    .set({
      ...registrationColumns(reg, now),
      assignment_revision: sql`assignment_revision + 1`,
      version: sql`version + 1`,
      updated_at: now,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function replaceGpus(db: Db, nodeId: string, gpus: Gpu[]): Promise<void> {
  await db.deleteFrom('gpus').where('node_id', '=', nodeId).execute();
  if (gpus.length === 0) return;
  await db
    .insertInto('gpus')
    .values(gpus.map((g) => ({ node_id: nodeId, idx: g.index, uuid: g.uuid, model: g.model, memory_mib: g.memoryMiB })))
    .execute();
}

/** Records a heartbeat, with the latest sample of the node's GPUs when it sent one. */
export function touchHeartbeat(db: Db, nodeId: string, now: Date, gpuStats?: readonly unknown[]): Promise<NodeRow | undefined> {
  return db
    .updateTable('nodes')
    .set({
      ...(gpuStats ? { gpu_stats: JSON.stringify(gpuStats), gpu_stats_at: now } : {}),
      last_heartbeat_at: now,
    })
    .where('id', '=', nodeId)
    .returningAll()
    .executeTakeFirst();
}

/** A silent node that speaks again is ready again; returns it only if it was suspect or lost. */
export function reviveNode(db: Db, nodeId: string, now: Date): Promise<NodeRow | undefined> {
  return db
    .updateTable('nodes')
    .set({ state: 'ready', version: sql`version + 1`, updated_at: now })
    .where('id', '=', nodeId)
    .where('state', 'in', ['suspect', 'lost'])
    .returningAll()
    .executeTakeFirst();
}

export function setNodeState(db: Db, nodeId: string, from: NodeState, to: NodeState, now: Date): Promise<NodeRow | undefined> {
  return db
    .updateTable('nodes')
    .set({ state: to, version: sql`version + 1`, updated_at: now })
    .where('id', '=', nodeId)
    .where('state', '=', from)
    .returningAll()
    .executeTakeFirst();
}

/** Tells the agents of these nodes (through their watch) that their assignments changed. */
export async function bumpAssignmentRevision(db: Db, nodeIds: string[]): Promise<void> {
  if (nodeIds.length === 0) return;
  await db
    .updateTable('nodes')
    .set({ assignment_revision: sql`assignment_revision + 1` })
    .where('id', 'in', [...new Set(nodeIds)])
    .execute();
}

export function getAssignmentRevision(db: Db, nodeId: string): Promise<{ assignment_revision: number; state: NodeState } | undefined> {
  return db.selectFrom('nodes').select(['assignment_revision', 'state']).where('id', '=', nodeId).executeTakeFirst();
}

export function findNodeByCredentialHash(db: Db, hash: string): Promise<NodeRow | undefined> {
  return db.selectFrom('nodes').selectAll().where('credential_hash', '=', hash).executeTakeFirst();
}
