import { sign, verify, type KeyObject } from 'node:crypto';
import type pg from 'pg';
import type { Queryable } from '../ledger/types.js';
import { CHECKPOINT_LOCK } from '../ops/locks.js';
import type { Logger } from '../ops/logger.js';
import { publicKeyFromRaw, rawPublicKey } from './signing-key.js';

/** A signed checkpoint as served by `GET /api/checkpoints` and saved by auditors (cp.json). Binary fields are base64, the hash hex. */
export interface Checkpoint {
  readonly position: number;
  /** The hash of the block ending at `position` (the head when signed), hex (32 zero bytes for position 0). */
  readonly hash: string;
  /** ISO-8601 UTC with milliseconds. */
  readonly signed_at: string;
  /** Raw Ed25519 public key, base64. */
  readonly public_key: string;
  /** Ed25519 signature of `checkpointMessage`, base64. */
  readonly signature: string;
}

/** The exact bytes signed: `runledger-checkpoint/1 <position> <hash hex> <signed_at>`. */
export function checkpointMessage(position: number, hash: string, signedAt: string): Buffer {
  return Buffer.from(`runledger-checkpoint/1 ${position} ${hash} ${signedAt}`, 'utf8');
}

export function signCheckpoint(key: KeyObject, position: number, hash: Buffer, signedAt: Date): Checkpoint {
  const hex = hash.toString('hex');
  const at = signedAt.toISOString();
  return {
    position,
    hash: hex,
    signed_at: at,
    public_key: rawPublicKey(key).toString('base64'),
    signature: sign(null, checkpointMessage(position, hex, at), key).toString('base64'),
  };
}

/**
 * Checks a checkpoint's fields and signature (against `trustedKey`, base64,
 * when given; otherwise against the key it names). Returns the problem, or
 * undefined when it is genuine.
 */
export function checkCheckpoint(value: unknown, trustedKey?: string): string | undefined {
  const cp = value as Partial<Record<keyof Checkpoint, unknown>>;
  if (typeof cp !== 'object' || cp === null) return 'checkpoint: not a JSON object';
  if (!Number.isInteger(cp.position) || (cp.position as number) < 0) return 'position: must be a whole number >= 0';
  if (typeof cp.hash !== 'string' || !/^[0-9a-f]{64}$/.test(cp.hash)) return 'hash: must be 64 lower-case hex digits';
  if (typeof cp.signed_at !== 'string' || Number.isNaN(Date.parse(cp.signed_at))) return 'signed_at: must be an ISO-8601 time';
  if (typeof cp.public_key !== 'string' || typeof cp.signature !== 'string') return 'public_key, signature: must be base64 strings';
  if (trustedKey !== undefined && trustedKey !== cp.public_key) return 'public_key: the checkpoint was not signed with the trusted key';
  let key: KeyObject;
  try {
    key = publicKeyFromRaw(Buffer.from(cp.public_key, 'base64'));
  } catch (error) {
    return (error as Error).message;
  }
  const ok = verify(null, checkpointMessage(cp.position as number, cp.hash, cp.signed_at), key, Buffer.from(cp.signature, 'base64'));
  return ok ? undefined : 'signature: does not match (position, hash, signed_at) under public_key';
}

interface CheckpointRow {
  position: string;
  hash: Buffer;
  signed_at: Date;
  public_key: Buffer;
  signature: Buffer;
}

function fromRow(row: CheckpointRow): Checkpoint {
  return {
    position: Number(row.position),
    hash: row.hash.toString('hex'),
    signed_at: row.signed_at.toISOString(),
    public_key: row.public_key.toString('base64'),
    signature: row.signature.toString('base64'),
  };
}

/** Stored checkpoints, newest first, before `before` (a position) when given. */
export async function listCheckpoints(db: Queryable, options: { before?: number; limit?: number } = {}): Promise<Checkpoint[]> {
  const { rows } = await db.query<CheckpointRow>(
    `select position, hash, signed_at, public_key, signature from ledger.checkpoints
      where ($1::bigint is null or position < $1) order by position desc limit $2`,
    [options.before ?? null, options.limit ?? 100],
  );
  return rows.map(fromRow);
}

/**
 * Signs the current head when it is `everyEvents` past the newest checkpoint,
 * or anything is new and the newest is `everySeconds` old. One signer at a
 * time across processes (an advisory lock); resolves with the new
 * checkpoint, or undefined when none was due.
 */
export async function checkpointIfDue(
  pool: pg.Pool,
  key: KeyObject,
  every: { readonly events: number; readonly seconds: number },
  now = new Date(),
): Promise<Checkpoint | undefined> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows: locked } = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock($1) as ok', [CHECKPOINT_LOCK]);
    if (!locked[0]!.ok) {
      await client.query('rollback');
      return undefined;
    }
    const { rows } = await client.query<{ position: string | null; hash: Buffer | null; last: string | null; last_at: Date | null }>(
      `select h.position, h.hash, c.position as last, c.signed_at as last_at
         from (select 1) one
         left join lateral (select last_position as position, hash from ledger.blocks order by last_position desc limit 1) h on true
         left join lateral (select position, signed_at from ledger.checkpoints order by position desc limit 1) c on true`,
    );
    const row = rows[0]!;
    const head = Number(row.position ?? 0);
    const last = row.last === null ? 0 : Number(row.last);
    const due =
      row.hash !== null &&
      head > last &&
      (head - last >= every.events || row.last_at === null || now.getTime() - row.last_at.getTime() >= every.seconds * 1000);
    if (!due) {
      await client.query('rollback');
      return undefined;
    }
    const checkpoint = signCheckpoint(key, head, row.hash!, now);
    await client.query(
      `insert into ledger.checkpoints (position, hash, signed_at, public_key, signature)
       values ($1, $2, $3, $4, $5)`,
      [head, row.hash, now, Buffer.from(checkpoint.public_key, 'base64'), Buffer.from(checkpoint.signature, 'base64')],
    );
    await client.query('commit');
    return checkpoint;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export interface Checkpointer {
  stop(): Promise<void>;
}

/** Checks once a second (or every `everySeconds`, when shorter) whether a checkpoint is due, until stopped. */
export function startCheckpointer(options: {
  pool: pg.Pool;
  key: KeyObject;
  every: { readonly events: number; readonly seconds: number };
  logger: Logger;
  /** (Default: 1000) */
  pollMs?: number;
}): Checkpointer {
  const pollMs = Math.min(options.pollMs ?? 1000, options.every.seconds * 1000);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = checkpointIfDue(options.pool, options.key, options.every).then(
      (checkpoint) => {
        if (checkpoint) options.logger.debug({ position: checkpoint.position }, 'checkpoint signed');
      },
      (error: unknown) => options.logger.warn({ err: error }, 'checkpoint failed; retrying'),
    );
    void running.then(() => {
      if (!stopped) timer = setTimeout(tick, pollMs);
    });
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
