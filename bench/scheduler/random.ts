/** A seeded generator (mulberry32): the same seed gives the same fleet on every machine and Node version. */
export type Random = () => number;

export function seeded(seed: number, stream: number): Random {
  // Separate streams per purpose, so adding draws to one (say, churn) leaves the others unchanged.
  let a = (seed + Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws one item by its relative `share`. */
export function pick<T extends { share: number }>(random: Random, items: readonly T[]): T {
  const total = items.reduce((sum, i) => sum + i.share, 0);
  let r = random() * total;
  for (const item of items) {
    r -= item.share;
    if (r < 0) return item;
  }
  return items[items.length - 1]!;
}
