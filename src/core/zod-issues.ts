import type { z } from 'zod';
import { ApiError, type FieldIssue } from './errors.js';

/** Renders a zod issue path the way a person writes it: `spec.quotas[0].limit`. */
export function formatPath(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

export function fieldIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.map((issue) => {
    // Unknown keys are reported on the parent; name them so the path points at the real culprit.
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys;
      return {
        path: formatPath([...issue.path, ...(keys.length === 1 ? keys : [])], prefix),
        message: keys.length === 1 ? 'unknown field' : `unknown fields: ${keys.join(', ')}`,
      };
    }
    return { path: formatPath(issue.path, prefix), message: issue.message };
  });
}

export function summarizeIssues(issues: FieldIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

/** Parses `value` or throws a 400 ApiError naming every bad field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, prefix = ''): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = fieldIssues(result.error, prefix);
  throw new ApiError('invalid_request', `invalid ${prefix === '' ? 'request body' : prefix}: ${summarizeIssues(issues)}`, { issues });
}
