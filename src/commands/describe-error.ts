import { AppError } from '../ops/errors.js';

/** What to do about a PostgreSQL error, by SQLSTATE class, for the one line the CLI prints. */
const PG_ADVICE: Record<string, string> = {
  '42501': "the role in DATABASE_URL lacks a privilege: use the database owner's role (an auditor's role may run verify and tail only)",
  '28P01': 'check the user name and password in DATABASE_URL',
  '28000': 'check the user name in DATABASE_URL and pg_hba.conf',
  '3D000': 'check the database name in DATABASE_URL',
  '53300': 'PostgreSQL has no free connections: lower RUNLEDGER_POOL_SIZE or raise max_connections',
};

/**
 * The one line the CLI prints for an error: its message (on one line) and,
 * where we know it, what to do. The stack is for --verbose / LOG_LEVEL=debug.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const oneLine = error.message.replace(/\s*\n\s*/g, ' ').trim() || error.name;
  if (error instanceof AppError) return oneLine;
  const code = (error as { code?: unknown }).code;
  const advice = typeof code === 'string' ? PG_ADVICE[code] : undefined;
  const cause = error.cause instanceof Error ? (error.cause as { code?: unknown }).code : undefined;
  const causeAdvice = typeof cause === 'string' ? PG_ADVICE[cause] : undefined;
  return advice ?? causeAdvice ? `${oneLine} (${advice ?? causeAdvice})` : oneLine;
}
