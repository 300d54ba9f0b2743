import { describe, expect, it } from 'vitest';
import { Recall } from './recall.js';

describe('Recall', () => {
  it('derives a value once per object while the list keeps it, whatever left or came before it', () => {
    const derived: string[] = [];
    const recall = new Recall((o: { id: string }) => {
      derived.push(o.id);
      return o.id.toUpperCase();
    }, 3);
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id }));
    expect(recall.of([a!, b!, c!, d!])).toEqual(['A', 'B', 'C', 'D']);
    // b left, e came first, a copy of c stands in for c.
    expect(recall.of([e!, a!, { id: 'c' }, d!])).toEqual(['E', 'A', 'C', 'D']);
    expect(derived).toEqual(['a', 'b', 'c', 'd', 'e', 'c']);
  });

  it('derives again an object found beyond its window, and after clear', () => {
    const derived: string[] = [];
    const recall = new Recall((o: { id: string }) => derived.push(o.id), 1);
    const items = ['a', 'b', 'c'].map((id) => ({ id }));
    recall.of(items);
    recall.of([items[2]!]);
    recall.clear();
    recall.of([items[2]!]);
    expect(derived).toEqual(['a', 'b', 'c', 'c', 'c']);
  });
});
