import type { Db } from './db.js';
import type { GatewayReport } from '../core/gateway-report.js';

/** Keeps each gateway's latest report (one row per gateway). */
export async function saveGatewayReport(db: Db, report: GatewayReport, now: Date): Promise<void> {
  await db
    .insertInto('gateway_reports')
    .values({ gateway_id: report.gateway, report: JSON.stringify(report), reported_at: now })
    .onConflict((oc) => oc.column('gateway_id').doUpdateSet({ report: JSON.stringify(report), reported_at: now }))
    .execute();
}

/** The latest report of every gateway heard from since `since`; older rows are deleted. */
export async function listGatewayReports(db: Db, since: Date): Promise<GatewayReport[]> {
  await db.deleteFrom('gateway_reports').where('reported_at', '<', new Date(since.getTime() - 3600_000)).execute();
  const rows = await db.selectFrom('gateway_reports').select('report').where('reported_at', '>=', since).execute();
  return rows.map((r) => r.report);
}
