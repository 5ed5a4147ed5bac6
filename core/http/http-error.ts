import type { z } from 'zod';

/** A refused request: status, the offending field (when there is one) and why. */
export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  constructor(
    readonly status: number,
    readonly field: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(field ? `${field}: ${message}` : message, options);
  }
}

/** First zod issue as an HttpError naming its field, e.g. `hostnames[1]: expected string`. */
export function fromZodError(error: z.ZodError): HttpError {
  const issue = error.issues[0];
  if (!issue) return new HttpError(400, undefined, 'invalid request', { cause: error });
  if (issue.code === 'unrecognized_keys') {
    return new HttpError(400, issue.keys.join(', '), 'unknown field', { cause: error });
  }
  const field = issue.path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
    '',
  );
  return new HttpError(400, field || 'body', issue.message, { cause: error });
}
