import type { Db } from './db.js';
import type { LogChunk } from '../core/agent-protocol.js';

/** Stores chunks; one already stored (same replica, stream and offset) is skipped, so retries are harmless. */
export async function insertLogChunks(db: Db, workloadIdByReplica: Map<string, string>, chunks: LogChunk[]): Promise<void> {
  const rows = chunks
    .filter((c) => c.data.length > 0 && workloadIdByReplica.has(c.replicaId))
    .map((c) => ({
      workload_id: workloadIdByReplica.get(c.replicaId)!,
      replica_id: c.replicaId,
      stream: c.stream,
      byte_offset: c.offset,
      data: c.data,
    }));
  if (rows.length === 0) return;
  await db
    .insertInto('log_chunks')
    .values(rows)
    .onConflict((oc) => oc.columns(['replica_id', 'stream', 'byte_offset']).doNothing())
    .execute();
}

export function readLogChunks(db: Db, workloadId: string, afterId: number, limit: number) {
  return db
    .selectFrom('log_chunks')
    .select(['id', 'replica_id', 'stream', 'data', 'created_at'])
    .where('workload_id', '=', workloadId)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute();
}
