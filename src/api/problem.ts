import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { AppError } from '../ops/errors.js';
import type { Logger } from '../ops/logger.js';

/** One bad input: `field` names it as the client sent it (`input.url`, `limit`, `Idempotency-Key`). */
export interface FieldError {
  readonly field: string;
  readonly reason: string;
}

/** An RFC 9457 problem document; `errors` names every input to fix. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** Stable machine-readable code, also the tail of `type`. */
  readonly code: string;
  /** The first of `errors`, kept for clients of the first API version. */
  readonly field?: string;
  readonly errors: readonly FieldError[];
  readonly requestId?: string;
}

/** An AppError naming several fields at once (a request failing validation). */
export class ProblemError extends AppError {
  constructor(
    status: number,
    code: string,
    readonly errors: readonly FieldError[],
    detail = errors.map((e) => `${e.field}: ${e.reason}`).join('; '),
  ) {
    super(status, code, detail, { field: errors[0]?.field });
  }
}

const TARGET_NAMES: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header' };

/** A ZodError of one request part as a 400 naming every bad field (unknown keys included). */
export function validationProblem(error: ZodError, target: string): ProblemError {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    const base = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push({ field: base === '' ? key : `${base}.${key}`, reason: `unknown ${TARGET_NAMES[target] ?? target} field` });
    } else {
      errors.push({ field: base === '' ? (TARGET_NAMES[target] ?? target) : base, reason: issue.message });
    }
  }
  return new ProblemError(400, 'invalid_request', errors);
}

export function problemOf(error: AppError, requestId?: string): Problem {
  const errors = error instanceof ProblemError ? error.errors : error.field === undefined ? [] : [{ field: error.field, reason: reasonOf(error) }];
  return {
    type: `urn:runledger:problem:${error.code}`,
    title: error.code.replaceAll('_', ' '),
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(error.field !== undefined ? { field: error.field } : {}),
    errors,
    ...(requestId === undefined ? {} : { requestId }),
  };
}

// "field: reason" messages keep their reason only.
const reasonOf = (error: AppError) => (error.field !== undefined && error.message.startsWith(`${error.field}: `) ? error.message.slice(error.field.length + 2) : error.message);

export function problemResponse(c: Context, problem: Problem, headers: Readonly<Record<string, string>> = {}): Response {
  return c.body(JSON.stringify(problem), problem.status as ContentfulStatusCode, { ...headers, 'content-type': 'application/problem+json' });
}

const requestIdOf = (c: Context): string | undefined => (c.get as (key: string) => unknown)('requestId') as string | undefined;

/**
 * The one error handler of the HTTP API: AppError becomes a problem naming
 * the field; anything else is logged and answered with a plain 500 that
 * leaks nothing.
 */
export function errorHandler(logger: Logger) {
  return function onError(error: Error, c: Context): Response {
    const requestId = requestIdOf(c);
    if (error instanceof AppError) return problemResponse(c, problemOf(error, requestId), error.headers);
    if (error instanceof HTTPException && error.status < 500) {
      // Hono's own refusals, e.g. a body that is not JSON.
      const field = error.status === 400 ? 'body' : undefined;
      return problemResponse(c, problemOf(new AppError(error.status, 'http_error', error.message || 'request refused', { field }), requestId));
    }
    logger.error({ err: error, method: c.req.method, path: c.req.path, requestId }, 'request failed');
    return problemResponse(c, {
      type: 'urn:runledger:problem:internal',
      title: 'internal error',
      status: 500,
      detail: 'internal error',
      code: 'internal',
      errors: [],
      ...(requestId === undefined ? {} : { requestId }),
    });
  };
}
