/**
 * RFC 4180 fields of one line: quoted fields may hold commas and doubled quotes. A quoted field
 * spanning lines is not supported (neither the simulator's traces nor SkyPilot's catalogs have
 * one) and reads as an unterminated quote. Returns the error message instead of fields when the
 * line is malformed.
 */
export function parseCsvLine(text: string): string[] | string {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) return 'unterminated quoted field';
        value += text.slice(i, close);
        if (text[close + 1] === '"') {
          value += '"';
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      if (i < text.length && text[i] !== ',') return `unexpected character after quoted field at column ${i + 1}`;
      fields.push(value);
    } else {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) return `quote inside unquoted field at column ${i + 1}`;
      fields.push(value);
      i = end;
    }
    if (i >= text.length) return fields;
    i += 1; // past the comma
    if (i === text.length) {
      fields.push('');
      return fields;
    }
  }
}
