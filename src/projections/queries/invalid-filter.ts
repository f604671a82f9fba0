import { AppError } from '../../ops/errors.js';

/** A query filter the caller can fix: HTTP 400 naming the field. */
export const invalidFilter = (field: string, message: string) =>
  new AppError(400, 'invalid_filter', `${field}: ${message}`, { field });
