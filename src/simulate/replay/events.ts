/**
 * A binary-heap event queue ordered by (time, sequence): events at the same time come out in the
 * order they were pushed, so a replay is deterministic.
 */
export interface QueuedEvent<T> {
  time: number;
  seq: number;
  data: T;
}

export class EventQueue<T> {
  private readonly heap: QueuedEvent<T>[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, data: T): void {
    const heap = this.heap;
    heap.push({ time, seq: this.nextSeq++, data });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  pop(): QueuedEvent<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before<T>(a: QueuedEvent<T>, b: QueuedEvent<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
