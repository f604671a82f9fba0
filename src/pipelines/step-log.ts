import type { LogLevel } from '../events/catalogue.js';

/** Lines one step attempt may log; beyond this they are counted as dropped. */
export const STEP_LOG_LINES_PER_ATTEMPT = 1000;
/** Lines per `step.log` event. */
export const STEP_LOG_BATCH_LINES = 100;
/** A buffered line waits at most this long before its batch is appended, ms. */
export const STEP_LOG_FLUSH_MS = 200;
/** Longer messages are cut to this many characters. */
export const STEP_LOG_MESSAGE_CHARS = 2000;

const LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error']);

export interface StepLogLine {
  readonly at: string;
  readonly level: LogLevel;
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

export interface StepLog {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /** Appends what is buffered (and the dropped count, if it changed); call when the attempt ends. */
  close(): Promise<void>;
}

/**
 * The buffer behind `ctx.log`: lines go out as `step.log` batches (at most
 * STEP_LOG_BATCH_LINES, at most STEP_LOG_FLUSH_MS late), one append at a time
 * so batches stay in order. A flooding step loses its lines beyond the cap,
 * not its speed: the count of dropped lines rides on the next batch.
 * Appending failures are swallowed: logging must never fail a step.
 */
export function createStepLog(appendBatch: (lines: StepLogLine[], dropped: number) => Promise<void>, limit = STEP_LOG_LINES_PER_ATTEMPT): StepLog {
  let buffer: StepLogLine[] = [];
  let accepted = 0;
  let dropped = 0;
  let reportedDropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let chain: Promise<void> = Promise.resolve();

  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0 && dropped === reportedDropped) return chain;
    const lines = buffer;
    const count = dropped;
    buffer = [];
    reportedDropped = dropped;
    chain = chain.then(() => appendBatch(lines, count)).catch(() => {});
    return chain;
  };

  return {
    log(level, message, fields) {
      if (accepted >= limit) {
        dropped += 1;
        return;
      }
      accepted += 1;
      const text = String(message);
      buffer.push({
        at: new Date().toISOString(),
        level: LEVELS.has(level) ? level : 'info',
        message: text.length > STEP_LOG_MESSAGE_CHARS ? `${text.slice(0, STEP_LOG_MESSAGE_CHARS)}…` : text,
        ...(fields === undefined ? {} : { fields: jsonSafe(fields) }),
      });
      if (buffer.length >= STEP_LOG_BATCH_LINES) void flush();
      else timer ??= setTimeout(() => void flush(), STEP_LOG_FLUSH_MS);
    },
    close: () => flush(),
  };
}

/** Fields as JSON would keep them (no functions, no cycles, bigint as strings). */
function jsonSafe(fields: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))) as Record<string, unknown>;
  } catch {
    return { unserialisable: true };
  }
}
