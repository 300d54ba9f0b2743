import { z } from 'zod';

/** Object names follow DNS labels (as Kubernetes names do) so they are safe in URLs, hostnames and shells. */
export const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and "-", starting and ending with a letter or digit');
