import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { asDomainError, DomainError } from '../errors/domain-error.js';
import { statusOf } from './error-status.js';
import { sendError } from './json.js';

export type JsonRoute = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Runs an async JSON route and answers whatever it throws: a DomainError with
 * its status and the shared error shape, anything else as a logged 500. A
 * failure after the headers went out can only cut the connection.
 */
export function serveJson(route: JsonRoute, log: Logger, what: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    route(req, res).catch((err: unknown) => {
      const failure = asDomainError(err);
      if (statusOf(failure.code) >= 500) log.error({ err, url: req.url }, `${what} failed`);
      if (res.headersSent) res.destroy();
      else sendError(res, failure);
    });
  };
}

/** Refuses a method other than `expected`, naming both. */
export function expectMethod(req: { readonly method?: string | undefined }, expected: string): void {
  if (req.method !== expected) {
    throw new DomainError('METHOD_NOT_ALLOWED', undefined, `method ${req.method} not allowed; use ${expected}`);
  }
}
