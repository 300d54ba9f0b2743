import { describe, expect, it } from 'vitest';
import { parseCsvLine } from './csv.js';

describe('parseCsvLine', () => {
  it('splits plain and RFC 4180 quoted fields', () => {
    expect(parseCsvLine('a,b,,c')).toEqual(['a', 'b', '', 'c']);
    expect(parseCsvLine('a,')).toEqual(['a', '']);
    expect(parseCsvLine('"x, y","say ""hi""",z')).toEqual(['x, y', 'say "hi"', 'z']);
    expect(parseCsvLine('""')).toEqual(['']);
  });

  it('reports malformed quoting instead of guessing', () => {
    expect(parseCsvLine('"open,b')).toBe('unterminated quoted field');
    expect(parseCsvLine('"a"b,c')).toMatch(/unexpected character after quoted field/);
    expect(parseCsvLine('a"b,c')).toMatch(/quote inside unquoted field/);
  });
});
