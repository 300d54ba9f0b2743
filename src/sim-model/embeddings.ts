import { hashString, seededRandom } from '../core/seeded-random.js';

/** A unit vector drawn from the text's hash: equal texts get equal vectors, any seed apart. */
export function embed(text: string, dimension: number, seed: number): number[] {
  const random = seededRandom(hashString(text, seed) >>> 0);
  const vector = new Array<number>(dimension);
  let norm = 0;
  for (let i = 0; i < dimension; i++) {
    const v = random() * 2 - 1;
    vector[i] = v;
    norm += v * v;
  }
  const scale = norm === 0 ? 0 : 1 / Math.sqrt(norm);
  for (let i = 0; i < dimension; i++) vector[i]! *= scale;
  return vector;
}
