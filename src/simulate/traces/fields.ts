import { TraceError, type BadRowPolicy, type TraceIssue } from './types.js';

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Strict decimal number: Number() would also take '', '0x1f' and 'Infinity'. */
export function parseDecimal(raw: string): number | null {
  const text = raw.trim();
  return NUMBER.test(text) ? Number(text) : null;
}

type NumberRule = 'positive' | 'non-negative' | 'any';

export interface NumberField {
  rule: NumberRule;
  integer?: boolean;
}

function describe({ rule, integer }: NumberField): string {
  const kind = integer ? 'integer' : 'number';
  return rule === 'any' ? `an ${kind}` : `a ${rule} ${kind}`;
}

/** Reads one row's fields and collects every complaint, so a row is reported once with all its faults. */
export class FieldReader {
  readonly errors: string[] = [];

  constructor(private readonly values: Record<string, string>) {}

  /** The trimmed value, or null when the field is empty or its column absent. */
  text(column: string): string | null {
    const value = this.values[column]?.trim() ?? '';
    return value === '' ? null : value;
  }

  requiredText(column: string): string {
    const value = this.text(column);
    if (value === null) this.errors.push(`${column} is required`);
    return value ?? '';
  }

  number(column: string, field: NumberField): number | null {
    const raw = this.text(column);
    if (raw === null) return null;
    const value = parseDecimal(raw);
    const ok =
      value !== null &&
      (!field.integer || Number.isInteger(value)) &&
      (field.rule !== 'positive' || value > 0) &&
      (field.rule !== 'non-negative' || value >= 0);
    if (!ok) {
      this.errors.push(`${column} must be ${describe(field)}, got '${raw}'`);
      return null;
    }
    return value;
  }

  requiredNumber(column: string, field: NumberField): number {
    if (this.text(column) === null) {
      this.errors.push(`${column} is required (${describe(field)})`);
      return 0;
    }
    return this.number(column, field) ?? 0;
  }

  fail(message: string): void {
    this.errors.push(message);
  }
}

/** Issues of one load, across its files; `finish` applies the bad-row policy. */
export class IssueLog {
  readonly issues: TraceIssue[] = [];

  constructor(private readonly policy: BadRowPolicy) {}

  add(file: string, line: number, message: string): void {
    this.issues.push({ file, line, message });
  }

  finish(): TraceIssue[] {
    if (this.policy === 'reject' && this.issues.length > 0) throw new TraceError(this.issues);
    return this.issues;
  }
}

/** Trace order is submission order; ties keep file order (Array.prototype.sort is stable). */
export function bySubmitTime<T extends { submitTime: number; line: number }>(jobs: T[]): T[] {
  return jobs.sort((a, b) => a.submitTime - b.submitTime || a.line - b.line);
}
