/** GPUs of one model as a Slurm GRES string declares them; `model` is null for an untyped `gpu:N`. */
export interface GpuGres {
  model: string | null;
  count: number;
  /** Device indices, from `(IDX:0-3,5)` in `gres_used`; empty where Slurm does not say. */
  indices: number[];
}

/**
 * Parses the GPU part of a GRES list such as `gpu:h100:8(S:0),gpu:a100:2,shard:4` or
 * `gpu:h100:2(IDX:0-1)`. Other GRES (shards, MPS, licences) are ignored: gpufleet schedules GPUs.
 */
export function parseGpuGres(gres: string | null | undefined): GpuGres[] {
  if (!gres || gres === '(null)' || gres === 'N/A') return [];
  const result: GpuGres[] = [];
  for (const item of splitTopLevel(gres)) {
    const match = /^(?:gres[:/])?gpu(?::([^:(]+))?(?::(\d+))?(?:\((.*)\))?$/.exec(item.trim());
    if (!match) continue;
    const [, typeOrCount, countText, detail] = match;
    let model: string | null = typeOrCount ?? null;
    let count = countText === undefined ? 1 : Number(countText);
    // `gpu:8` names no type: the single field is the count.
    if (countText === undefined && model !== null && /^\d+$/.test(model)) {
      count = Number(model);
      model = null;
    }
    result.push({ model, count, indices: parseIndices(detail) });
  }
  return result;
}

/** The `--gres` value for a launch: `gpu:h100:2`, or `gpu:2` when any model will do. */
export function gresRequest(count: number, model: string | null): string {
  return model ? `gpu:${model}:${count}` : `gpu:${count}`;
}

// Commas separate GRES items, but also index ranges inside parentheses: `gpu:h100:2(IDX:0,3)`.
function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items.filter((s) => s.trim() !== '');
}

function parseIndices(detail: string | undefined): number[] {
  const idx = detail ? /IDX:([0-9,-]+)/.exec(detail) : null;
  if (!idx) return [];
  const indices: number[] = [];
  for (const part of idx[1]!.split(',')) {
    const [from, to] = part.split('-').map(Number);
    if (from === undefined || Number.isNaN(from)) continue;
    for (let i = from; i <= (to ?? from); i++) indices.push(i);
  }
  return indices;
}
