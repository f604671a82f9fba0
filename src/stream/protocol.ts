import { AppError } from '../ops/errors.js';
import { parseFilter, type StreamFilter } from './filter.js';
import type { Delta } from '../projections/delta.js';

/** Version of the frames below; bumped on incompatible changes. */
export const PROTOCOL_VERSION = 1;

export { CloseCode } from './close-codes.js';

export type ServerFrame =
  | { type: 'hello'; protocol: number; server: string; head: number; from: number }
  | { type: 'snapshot'; offset: number; model: unknown }
  /** Deltas in offset order; the subscriber has now seen every event up to `upTo`, matching or not. */
  | { type: 'deltas'; upTo: number; deltas: readonly Delta[] }
  | { type: 'caught_up'; offset: number }
  /** Events up to `offset` matched nothing; sent at most once a second while filtered events pass. */
  | { type: 'position'; offset: number }
  | { type: 'subscribed'; from: number; filter: StreamFilter }
  | { type: 'unsubscribed'; offset: number }
  | { type: 'pong'; id?: string | number; offset: number }
  /** `from`: where to resume, on errors that end the stream (SSE; a WebSocket gives it in the close reason). */
  | { type: 'error'; code: string; message: string; field?: string; from?: number };

export interface Subscription {
  /** Deliver events after this offset; undefined: from where the subscriber is now (or the head). */
  readonly from?: number;
  readonly filter: StreamFilter;
  /** Start with a snapshot of the read model instead of replaying history. */
  readonly snapshot?: boolean;
}

export type ClientMessage =
  | ({ type: 'subscribe' } & Subscription)
  | { type: 'unsubscribe' }
  | { type: 'ping'; id?: string | number };

const bad = (code: string, field: string, message: string) => new AppError(400, code, `${field}: ${message}`, { field });

/** Parses one text frame from a client; throws AppError naming the field. */
export function parseClientMessage(text: string): ClientMessage {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    throw bad('invalid_json', 'message', 'is not valid JSON');
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw bad('invalid_message', 'message', 'must be a JSON object with a "type"');
  }
  const { type, ...rest } = message as Record<string, unknown>;
  switch (type) {
    case 'ping': {
      const id = rest.id;
      if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') throw bad('invalid_message', 'id', 'must be a string or number');
      return id === undefined ? { type } : { type, id };
    }
    case 'unsubscribe':
      return { type };
    case 'subscribe': {
      const from = rest.from === undefined ? undefined : parseOffset(rest.from, 'from');
      if (rest.snapshot !== undefined && typeof rest.snapshot !== 'boolean') throw bad('invalid_message', 'snapshot', 'must be true or false');
      return { type, from, filter: parseFilter(rest.filter), snapshot: rest.snapshot === true };
    }
    default:
      throw bad('unknown_type', 'type', `unknown message type ${JSON.stringify(type)} (use subscribe, unsubscribe or ping)`);
  }
}

/** An offset from JSON or a query string: a non-negative whole number. */
export function parseOffset(value: unknown, field: string): number {
  const number = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
    throw bad('invalid_offset', field, `must be a non-negative whole number, got ${JSON.stringify(value)}`.slice(0, 200));
  }
  return number;
}

export function futureOffset(field: string, offset: number, head: number): AppError {
  return bad('future_offset', field, `${offset} is beyond the newest event (${head})`);
}

/** The close reason: a word, and where to resume when it makes sense (at most 123 bytes). */
export function closeReason(word: string, from?: number): string {
  return (from === undefined ? word : `${word} from=${from}`).slice(0, 123);
}
