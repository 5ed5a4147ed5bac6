import type { z } from 'zod';
import { DomainError } from './domain-error.js';

/** The first zod issue as an INVALID_INPUT error naming its field, e.g. `hostnames[1]: expected a string`. */
export function fromZodError(error: z.ZodError): DomainError {
  const issue = error.issues[0];
  if (!issue) return new DomainError('INVALID_INPUT', undefined, 'invalid request', { cause: error });
  if (issue.code === 'unrecognized_keys') {
    return new DomainError('INVALID_INPUT', issue.keys.join(', '), 'unknown field', { cause: error });
  }
  return new DomainError('INVALID_INPUT', fieldPath(issue.path) || 'body', issue.message, { cause: error });
}

/** A zod path as people write it: `servers.s1[0]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
    '',
  );
}

/** Parses `value` or throws the first problem as an INVALID_INPUT error. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw fromZodError(result.error);
  return result.data;
}
