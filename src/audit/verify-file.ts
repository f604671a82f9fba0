import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { eventHash, GENESIS_HASH } from '../ledger/hash-formula.js';
import { JsonNumber, JsonObject, parseJson, type JsonValue } from '../ledger/jsonb-text.js';
import type { VerifyResult } from '../ledger/verify.js';
import { BUNDLE_FORMAT } from './export.js';

export interface VerifyFileOptions {
  /** The head hash the auditor expects the bundle to end with: catches a truncated tail. */
  readonly expectHead?: string;
  /** A saved checkpoint: the chain must pass through exactly this hash at this position. */
  readonly checkpoint?: { readonly position: number; readonly hash: string };
  /** Called every `progressEvery` events with the count so far. */
  readonly onProgress?: (count: number, position: number) => void;
  readonly progressEvery?: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Verifies an export bundle with no database: recomputes every event's hash
 * from its content with the ledger's formula (src/ledger/hash-formula.ts)
 * and checks each link from the bundle's anchor on. Reports the first event
 * that was altered, removed, inserted or reordered, by position.
 */
export async function verifyBundle(input: Readable, options: VerifyFileOptions = {}): Promise<VerifyResult> {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let header: { from: number; to: number; anchor: { position: number; hash: string } } | undefined;
  let expected = 0;
  let previous: Buffer = GENESIS_HASH;
  let count = 0;
  let checkpointSeen = false;
  const checkpoint = options.checkpoint;
  const bad = (position: number, reason: string): VerifyResult => {
    lines.close();
    return { ok: false, count, position, reason };
  };
  const progressEvery = options.progressEvery ?? 100_000;
  for await (const line of lines) {
    if (line === '') continue;
    if (header === undefined) {
      const read = readHeader(line);
      if (typeof read === 'string') return bad(0, read);
      header = read;
      expected = header.from;
      previous = Buffer.from(header.anchor.hash, 'hex');
      if (header.from === 1 && !previous.equals(GENESIS_HASH)) return bad(1, 'the anchor of a bundle starting at 1 must be 32 zero bytes');
      if (checkpoint && checkpoint.position === header.anchor.position) {
        if (header.anchor.hash !== checkpoint.hash) return bad(checkpoint.position, 'the bundle\'s anchor differs from the checkpoint\'s hash');
        checkpointSeen = true;
      }
      continue;
    }
    let event: ReturnType<typeof readEvent>;
    try {
      event = readEvent(parseJson(line));
    } catch (error) {
      return bad(expected, `line of position ${expected} is not a valid event: ${(error as Error).message}`);
    }
    if (event.position !== expected) {
      const what = event.position < expected ? 'repeated or out of order' : 'missing';
      return bad(expected, `event ${what}: expected position ${expected}, found ${event.position}`);
    }
    if (!event.prevHash.equals(previous)) return bad(expected, 'prev_hash does not match the previous event\'s hash');
    const computed = eventHash(previous, event);
    if (!computed.equals(event.hash)) return bad(expected, 'content does not match its hash (the event was altered)');
    if (checkpoint && checkpoint.position === expected) {
      if (computed.toString('hex') !== checkpoint.hash) {
        return bad(expected, 'the chain differs from the saved checkpoint here: history up to it was rewritten');
      }
      checkpointSeen = true;
    }
    previous = computed;
    count += 1;
    expected += 1;
    if (options.onProgress && count % progressEvery === 0) options.onProgress(count, expected - 1);
  }
  if (header === undefined) return { ok: false, count, position: 0, reason: 'empty file: no bundle header' };
  if (expected - 1 !== header.to) {
    return { ok: false, count, position: expected, reason: `bundle truncated: the header says it ends at ${header.to}, the last event is ${expected - 1}` };
  }
  const headHash = previous.toString('hex');
  if (options.expectHead !== undefined && options.expectHead.toLowerCase() !== headHash) {
    return { ok: false, count, position: expected, reason: `head hash ${headHash} at ${expected - 1} is not the expected ${options.expectHead} (truncated or different ledger)` };
  }
  if (checkpoint && !checkpointSeen) {
    return { ok: false, count, position: checkpoint.position, reason: `the bundle (${header.from}..${header.to}) does not reach the checkpoint's position ${checkpoint.position}` };
  }
  return { ok: true, count, headHash };
}

function readHeader(line: string): { from: number; to: number; anchor: { position: number; hash: string } } | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'the first line is not a bundle header (JSON)';
  }
  const header = value as { format?: unknown; from?: unknown; to?: unknown; anchor?: { position?: unknown; hash?: unknown } };
  if (header.format !== BUNDLE_FORMAT) return `the first line is not a ${BUNDLE_FORMAT} header`;
  const from = header.from;
  const to = header.to;
  const anchor = header.anchor;
  if (!Number.isInteger(from) || (from as number) < 1) return 'header: from must be a whole number >= 1';
  if (!Number.isInteger(to) || (to as number) < (from as number) - 1) return 'header: to must be a whole number >= from - 1';
  if (anchor?.position !== (from as number) - 1 || typeof anchor.hash !== 'string' || !HEX64.test(anchor.hash)) {
    return 'header: anchor must be {position: from - 1, hash: 64 hex digits}';
  }
  return { from: from as number, to: to as number, anchor: { position: anchor.position as number, hash: anchor.hash } };
}

function readEvent(value: JsonValue) {
  if (!(value instanceof JsonObject)) throw new Error('not a JSON object');
  const text = (key: string): string => {
    const field = value.get(key);
    if (typeof field !== 'string') throw new Error(`${key} must be a string`);
    return field;
  };
  const integer = (key: string): number => {
    const field = value.get(key);
    if (!(field instanceof JsonNumber) || !/^[1-9]\d{0,15}$/.test(field.literal)) throw new Error(`${key} must be a positive whole number`);
    return Number(field.literal);
  };
  const hash = (key: string): Buffer => {
    const field = text(key);
    if (!HEX64.test(field)) throw new Error(`${key} must be 64 hex digits`);
    return Buffer.from(field, 'hex');
  };
  const object = (key: string): JsonObject => {
    const field = value.get(key);
    if (!(field instanceof JsonObject)) throw new Error(`${key} must be an object`);
    return field;
  };
  return {
    position: integer('position'),
    streamType: text('stream_type'),
    streamId: text('stream_id'),
    streamVersion: integer('stream_version'),
    type: text('type'),
    recordedAt: text('recorded_at'),
    metadata: object('metadata'),
    data: object('data'),
    prevHash: hash('prev_hash'),
    hash: hash('hash'),
  };
}
