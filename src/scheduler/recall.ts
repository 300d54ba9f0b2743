/**
 * Values derived from the objects of one list, kept for the next: a snapshot's work is mostly the
 * same objects in the same order from one cycle to the next (a replay passes them again), and an
 * object found again near where it was is not read again. Reading thousands of workloads each
 * cycle costs their cache misses, not their arithmetic. An object passed again is taken to be
 * unchanged (a snapshot is not changed once passed); a list of new objects is derived afresh.
 */
export class Recall<T extends object, V> {
  private objects: readonly T[] = [];
  private values: V[] = [];

  constructor(
    /** How far past where it was expected an object is looked for (work that left before it). */
    private readonly window = 32,
  ) {}

  /** The value of each object of `list`, in order: the last list's for an object found again, else `derive`d. */
  of(list: readonly T[], derive: (item: T) => V): V[] {
    const { objects, values: last, window } = this;
    const values = new Array<V>(list.length);
    let next = 0;
    for (let i = 0; i < list.length; i++) {
      const item = list[i]!;
      let found = -1;
      for (let k = next, end = Math.min(objects.length, next + window); k < end; k++) {
        if (objects[k] === item) {
          found = k;
          break;
        }
      }
      if (found < 0) values[i] = derive(item);
      else {
        values[i] = last[found]!;
        next = found + 1;
      }
    }
    // Copies: the caller may change its lists once this cycle is over.
    this.objects = list.slice();
    this.values = values.slice();
    return values;
  }

  /** Forgets the last list. */
  clear(): void {
    this.objects = [];
    this.values = [];
  }
}
