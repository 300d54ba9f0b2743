import { MinHeap } from '../../scheduler/min-heap.js';

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
  private readonly heap = new MinHeap<QueuedEvent<T>>((a, b) => a.time < b.time || (a.time === b.time && a.seq < b.seq));
  private nextSeq = 0;

  get size(): number {
    return this.heap.size;
  }

  push(time: number, data: T): void {
    this.heap.push({ time, seq: this.nextSeq++, data });
  }

  peekTime(): number | undefined {
    return this.heap.peek()?.time;
  }

  pop(): QueuedEvent<T> | undefined {
    return this.heap.pop();
  }
}
