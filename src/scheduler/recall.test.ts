import { describe, expect, it } from 'vitest';
import { Recall } from './recall.js';

describe('Recall', () => {
  it('derives a value once per object while the list keeps it, whatever left or came before it', () => {
    const derived: string[] = [];
    const recall = new Recall<{ id: string }, string>(3);
    const upper = (o: { id: string }) => {
      derived.push(o.id);
      return o.id.toUpperCase();
    };
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id }));
    expect(recall.of([a!, b!, c!, d!], upper)).toEqual(['A', 'B', 'C', 'D']);
    // b left, e came first, a copy of c stands in for c.
    expect(recall.of([e!, a!, { id: 'c' }, d!], upper)).toEqual(['E', 'A', 'C', 'D']);
    expect(derived).toEqual(['a', 'b', 'c', 'd', 'e', 'c']);
  });

  it('derives again an object found beyond its window, and after clear', () => {
    const derived: string[] = [];
    const recall = new Recall<{ id: string }, number>(1);
    const note = (o: { id: string }) => derived.push(o.id);
    const items = ['a', 'b', 'c'].map((id) => ({ id }));
    recall.of(items, note);
    recall.of([items[2]!], note);
    recall.clear();
    recall.of([items[2]!], note);
    expect(derived).toEqual(['a', 'b', 'c', 'c', 'c']);
  });
});
