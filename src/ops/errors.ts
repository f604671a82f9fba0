/**
 * The one error type runledger raises for problems the caller can fix: bad
 * input, conflicts, missing things. It carries an HTTP status, a stable code
 * and the offending field, so the HTTP edge and the stream can answer with a
 * clear message. Anything else is a bug or an outage and is answered with a
 * plain 500 that leaks nothing.
 */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  /** HTTP headers the answer carries (e.g. Retry-After on a 503). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { field?: string; cause?: unknown; headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.field = options.field;
    this.headers = options.headers;
  }
}

/** Turns anything thrown into an Error, keeping the original as its cause. */
export function coerceError(error: unknown): Error {
  if (error instanceof Error) return error;
  return new Error(typeof error === 'string' ? error : JSON.stringify(error), { cause: error });
}
