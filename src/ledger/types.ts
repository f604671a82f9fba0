import type pg from 'pg';

/** Who or what caused an event; free-form beyond these well-known keys. */
export interface EventMetadata {
  readonly actor?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly [key: string]: unknown;
}

export interface NewEvent {
  /** Kind of entity the event belongs to: job, worker, queue, alert … */
  readonly streamType: string;
  readonly streamId: string;
  /** Dotted lower-case name, e.g. `job.created`. */
  readonly type: string;
  /** A JSON object. */
  readonly data: object;
  readonly metadata?: EventMetadata;
}

export interface LedgerEvent {
  /** Dense, commit-ordered offset in the ledger, starting at 1. */
  readonly position: number;
  readonly streamType: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly metadata: EventMetadata;
  /** ISO-8601, UTC. */
  readonly recordedAt: string;
}

/**
 * What the read model derives from an event (projections/event-to-deltas.ts):
 * the stream reads only these columns, not the whole event (a page of 2,000
 * events reads a third faster without the stream columns and the metadata).
 */
export type DeltaSource = Pick<LedgerEvent, 'position' | 'type' | 'data' | 'recordedAt'>;

export interface AppendResult {
  readonly position: number;
  readonly streamVersion: number;
}

/** Anything that runs a query: a pool, or a client inside the caller's transaction. */
export type Queryable = pg.Pool | pg.PoolClient | pg.Client;
