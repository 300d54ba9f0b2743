import { seededRandom } from '../../src/core/seeded-random.js';

/** A seeded generator: the same seed gives the same fleet on every machine and Node version. */
export type Random = () => number;

export function seeded(seed: number, stream: number): Random {
  // Separate streams per purpose, so adding draws to one (say, churn) leaves the others unchanged.
  return seededRandom((seed + Math.imul(stream + 1, 0x9e3779b9)) >>> 0);
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
