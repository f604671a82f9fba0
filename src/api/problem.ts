import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import { AppError } from '../ops/errors.js';
import type { Logger } from '../ops/logger.js';

/** An RFC 7807 problem document; `field` names the input to fix. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly field?: string;
}

export function problemOf(error: AppError): Problem {
  return {
    type: `urn:runledger:problem:${error.code}`,
    title: error.code.replaceAll('_', ' '),
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(error.field !== undefined ? { field: error.field } : {}),
  };
}

export function problemResponse(c: Context, problem: Problem, headers: Readonly<Record<string, string>> = {}): Response {
  return c.body(JSON.stringify(problem), problem.status as ContentfulStatusCode, { ...headers, 'content-type': 'application/problem+json' });
}

/**
 * The one error handler of the HTTP API: AppError becomes a problem naming
 * the field; anything else is logged and answered with a plain 500 that
 * leaks nothing.
 */
export function errorHandler(logger: Logger) {
  return function onError(error: Error, c: Context): Response {
    if (error instanceof AppError) return problemResponse(c, problemOf(error), error.headers);
    if (error instanceof HTTPException && error.status < 500) {
      return problemResponse(c, problemOf(new AppError(error.status, 'http_error', error.message || 'request refused')));
    }
    logger.error({ err: error, method: c.req.method, path: c.req.path }, 'request failed');
    return problemResponse(c, {
      type: 'urn:runledger:problem:internal',
      title: 'internal error',
      status: 500,
      detail: 'internal error',
      code: 'internal',
    });
  };
}
