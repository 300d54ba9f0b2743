import type { FieldIssue } from './errors.js';
import { formatPath } from './zod-issues.js';

/**
 * PostgreSQL text cannot hold NUL, and a lone UTF-16 surrogate is not text at all: either would
 * fail deep in the database as a 5xx. Input is checked for them up front, so the caller learns
 * which field is at fault.
 */
export function findUnstorableText(value: unknown, path: PropertyKey[] = []): FieldIssue | null {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { path: formatPath(path), message: 'must not contain NUL characters' };
    if (!value.isWellFormed()) return { path: formatPath(path), message: 'must be valid Unicode (it has a lone surrogate)' };
    return null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const issue = findUnstorableText(value[i], [...path, i]);
      if (issue) return issue;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      const issue = findUnstorableText(key, [...path, key]) ?? findUnstorableText(inner, [...path, key]);
      if (issue) return issue;
    }
  }
  return null;
}

/** Process output is stored as it came, with what text cannot hold shown as U+FFFD. */
export function toStorableText(text: string): string {
  return text.replaceAll('\u0000', '\ufffd').toWellFormed();
}
