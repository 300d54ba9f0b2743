/**
 * The integral of a step function (value v[i] from t[i] to t[i+1], the last to `to`) over
 * consecutive windows of `width` from `from` to `to`; the last window ends at `to` (it may be
 * shorter). Values before `from` count from `from` on.
 */
export function windowIntegrals(times: readonly number[], values: readonly number[], from: number, to: number, width: number): number[] {
  if (!(width > 0) || !(to > from)) return [];
  // Floating point: (to - from) / width may land a hair above a whole number of windows.
  const count = Math.max(1, Math.ceil((to - from) / width - 1e-9));
  const out = new Array<number>(count).fill(0);
  for (let i = 0; i < times.length; i++) {
    const a = Math.max(from, times[i]!);
    const b = Math.min(to, i + 1 < times.length ? times[i + 1]! : to);
    const v = values[i]!;
    if (b <= a || v === 0) continue;
    let k = Math.min(count - 1, Math.floor((a - from) / width));
    let s = a;
    while (s < b && k < count) {
      const end = k === count - 1 ? b : Math.min(b, from + (k + 1) * width);
      out[k]! += v * (end - s);
      s = end;
      k++;
    }
  }
  return out;
}

/** How long each window of windowIntegrals(…, from, to, width) is. */
export function windowLengths(from: number, to: number, width: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => Math.min(to, from + (k + 1) * width) - (from + k * width));
}
