import { parseCsvLine } from '../csv.js';
import type { FieldIssue } from '../errors.js';

/** Which of a catalog's rows price a pool. */
export interface CatalogSelection {
  /** Only this instance type's rows are read, and it must be there; absent: every instance type. */
  instanceType?: string;
  /** Only this region's rows are read; absent: the regions must agree on each price. */
  region?: string;
  /** SpotPrice instead of Price. */
  spot: boolean;
}

/** Price per GPU-hour by instance type, or what is wrong, each issue on `catalog`, `region` or `instanceType`. */
export type CatalogPrices = { prices: Map<string, number> } | { issues: FieldIssue[] };

const neededColumns = ['InstanceType', 'AcceleratorCount', 'Region'] as const;

/**
 * Reads a SkyPilot catalog (`vms.csv`, schema v5) by its header's names, so column order does not
 * matter. A row's price per GPU-hour is its Price (or SpotPrice) ÷ AcceleratorCount. Rows without
 * GPUs, or with the price cell empty (not offered), are skipped; within a region the cheapest
 * availability zone wins, as in SkyPilot. Only the rows selected are checked for numbers.
 */
export function catalogGpuPrices(text: string, selection: CatalogSelection): CatalogPrices {
  const priceColumn = selection.spot ? 'SpotPrice' : 'Price';
  const issues: FieldIssue[] = [];
  const bad = (line: number, message: string) => issues.push({ path: 'catalog', message: `line ${line}: ${message}` });
  /** instance type → region → cheapest price per GPU-hour */
  const byType = new Map<string, Map<string, number>>();
  const listed = new Set<string>();
  let header: string[] | null = null;
  let sawRegion = false;

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    if (lines[i]!.trim() === '') continue;
    const fields = parseCsvLine(lines[i]!);
    if (typeof fields === 'string') {
      bad(line, fields);
      continue;
    }
    if (header === null) {
      header = fields.map((name) => name.trim());
      const missing = [...neededColumns, priceColumn].filter((name) => !header!.includes(name));
      if (missing.length > 0) bad(line, `missing column(s) ${missing.join(', ')}`);
      continue;
    }
    if (fields.length !== header.length) {
      bad(line, `expected ${header.length} fields, got ${fields.length}`);
      continue;
    }
    const row = new Map(header.map((name, k) => [name, fields[k]!.trim()]));
    const type = row.get('InstanceType')!;
    const region = row.get('Region')!;
    if (selection.region !== undefined && region !== selection.region) continue;
    sawRegion = true;
    if (selection.instanceType !== undefined && type !== selection.instanceType) continue;
    listed.add(type);
    const gpus = row.get('AcceleratorCount')!;
    const count = Number(gpus);
    if (gpus !== '' && (!Number.isFinite(count) || count < 0)) {
      bad(line, `AcceleratorCount is not a number of GPUs: ${JSON.stringify(gpus)}`);
      continue;
    }
    const cell = row.get(priceColumn)!;
    if (gpus === '' || count === 0 || cell === '') continue;
    const price = Number(cell);
    if (!Number.isFinite(price)) bad(line, `${priceColumn} is not a number: ${JSON.stringify(cell)}`);
    else if (price < 0) bad(line, `${priceColumn} must not be negative`);
    else {
      const regions = byType.get(type) ?? new Map<string, number>();
      byType.set(type, regions);
      regions.set(region, Math.min(regions.get(region) ?? Infinity, price / count));
    }
  }

  if (header === null) issues.push({ path: 'catalog', message: 'empty file, expected a header line' });
  if (issues.length > 0) return { issues };
  if (selection.region !== undefined && !sawRegion) return { issues: [{ path: 'region', message: `no rows for region ${selection.region} in the catalog` }] };
  if (selection.instanceType !== undefined && !byType.has(selection.instanceType)) {
    const where = selection.region === undefined ? '' : ` in region ${selection.region}`;
    const why = listed.has(selection.instanceType) ? `has no GPUs or no ${priceColumn}` : 'is not';
    return { issues: [{ path: 'instanceType', message: `${selection.instanceType} ${why} in the catalog${where}` }] };
  }

  const prices = new Map<string, number>();
  const differing: string[] = [];
  for (const [type, regions] of byType) {
    const distinct = new Set(regions.values());
    if (distinct.size > 1) differing.push(`${type}: ${[...regions].map(([r, p]) => `${p} in ${r}`).join(', ')}`);
    else prices.set(type, [...distinct][0]!);
  }
  if (differing.length > 0) {
    const more = differing.length > 1 ? ` (and ${differing.length - 1} more instance types)` : '';
    return { issues: [{ path: 'region', message: `prices per GPU-hour differ across regions, name one: ${differing[0]}${more}` }] };
  }
  return { prices };
}
