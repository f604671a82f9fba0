import type { Readable } from 'node:stream';
import {
  blockHash,
  blockRoot,
  contentDigest,
  contentDigestOfTexts,
  eventDigest,
  eventDigestOfTexts,
  eventHashOfDigest,
  GENESIS_HASH,
} from '../ledger/hash-formula.js';
import { parseJson } from '../ledger/jsonb-text.js';
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
const STRUCTURE = /[{}[\]"]/g;

/**
 * Verifies an export bundle with no database: recomputes every event's
 * digest from its content, every block's root and hash, with the ledger's
 * formula (src/ledger/hash-formula.ts), and checks each link from the
 * bundle's anchor on. Reports the first event that was altered, removed,
 * inserted or reordered, by position (the per-event digest names the event
 * inside its block; a changed seal is reported at the block's first event).
 */
export async function verifyBundle(input: Readable, options: VerifyFileOptions = {}): Promise<VerifyResult> {
  const lines = splitLines(input);
  let header: { from: number; to: number; anchor: { position: number; hash: string } } | undefined;
  let expected = 0;
  let previous: Buffer = GENESIS_HASH;
  let count = 0;
  let checkpointSeen = false;
  /** The first event of the block being read, until its last event. */
  let block: BundleEvent | undefined;
  let digests: Buffer[] = [];
  const checkpoint = options.checkpoint;
  const bad = (position: number, reason: string): VerifyResult => {
    input.destroy();
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
    let event: BundleEvent;
    try {
      event = readEvent(line);
    } catch (error) {
      return bad(expected, `line of position ${expected} is not a valid event: ${(error as Error).message}`);
    }
    if (event.position !== expected) {
      const what = event.position < expected ? 'repeated or out of order' : 'missing';
      return bad(expected, `event ${what}: expected position ${expected}, found ${event.position}`);
    }
    if (block === undefined) {
      // The first event of a block carries what the whole block must share.
      if (event.blockFirst !== expected) {
        return bad(expected, `block_first ${event.blockFirst} is not this event's position: a block starts here`);
      }
      if (event.blockLast < event.blockFirst || (event.hashScheme === 1 && event.blockLast !== event.blockFirst)) {
        return bad(expected, `block_last ${event.blockLast} does not fit this block`);
      }
      if (!event.prevHash.equals(previous)) return bad(expected, 'prev_hash does not match the previous block\'s hash');
      block = event;
      digests = [];
    } else if (
      event.blockFirst !== block.blockFirst ||
      event.blockLast !== block.blockLast ||
      event.hashScheme !== block.hashScheme ||
      event.recordedAt !== block.recordedAt ||
      !event.prevHash.equals(block.prevHash) ||
      !event.hash.equals(block.hash)
    ) {
      return bad(expected, 'content does not match its hash (its block fields differ from its block\'s first event)');
    }
    let digest: Buffer;
    try {
      digest = digestOf(event);
    } catch (error) {
      return bad(expected, `line of position ${expected} is not a valid event: ${(error as Error).message}`);
    }
    if (!digest.equals(event.digest)) return bad(expected, 'content does not match its hash (the event was altered)');
    digests.push(digest);
    if (expected === block.blockLast) {
      const computed =
        block.hashScheme === 1
          ? eventHashOfDigest(previous, event, digest)
          : blockHash(previous, block.blockFirst, block.blockLast, block.recordedAt, blockRoot(digests));
      if (!computed.equals(block.hash)) {
        return bad(block.blockFirst, 'content does not match its hash (the block starting here was altered)');
      }
      if (checkpoint && checkpoint.position >= block.blockFirst && checkpoint.position <= block.blockLast) {
        if (checkpoint.position !== block.blockLast || computed.toString('hex') !== checkpoint.hash) {
          return bad(checkpoint.position, 'the chain differs from the saved checkpoint here: history up to it was rewritten');
        }
        checkpointSeen = true;
      }
      previous = computed;
      block = undefined;
    }
    count += 1;
    expected += 1;
    if (options.onProgress && count % progressEvery === 0) options.onProgress(count, expected - 1);
  }
  if (header === undefined) return { ok: false, count, position: 0, reason: 'empty file: no bundle header' };
  if (block !== undefined) {
    return { ok: false, count, position: expected, reason: `block ${block.blockFirst}..${block.blockLast} ends early: the last event is ${expected - 1}` };
  }
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

interface BundleEvent {
  readonly position: number;
  readonly streamType: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly type: string;
  readonly recordedAt: string;
  /** The raw JSON texts of metadata and data, as they stand in the line. */
  readonly metadataText: string;
  readonly dataText: string;
  readonly prevHash: Buffer;
  /** The block's hash (every event of a block carries it). */
  readonly hash: Buffer;
  readonly digest: Buffer;
  readonly blockFirst: number;
  readonly blockLast: number;
  readonly hashScheme: 1 | 2;
}

/**
 * The event's digest. An untouched export carries metadata and data in
 * PostgreSQL's own rendering, so hashing their texts as they stand is the
 * fast path; when that does not match (a bundle written by another tool,
 * with other spacing or number forms), the values are parsed and rendered
 * as PostgreSQL would (src/ledger/jsonb-text.ts) and hashed again.
 */
function digestOf(event: BundleEvent): Buffer {
  const fast =
    event.hashScheme === 1
      ? contentDigestOfTexts(event.streamType, event.streamId, event.type, event.metadataText, event.dataText)
      : eventDigestOfTexts(event.streamType, event.streamId, event.streamVersion, event.type, event.metadataText, event.dataText);
  if (fast.equals(event.digest)) return fast;
  const values = { ...event, metadata: parseJson(event.metadataText), data: parseJson(event.dataText) };
  return event.hashScheme === 1 ? contentDigest(values) : eventDigest(values);
}

/**
 * Reads one event line without building its data: the top-level members are
 * located by a scanner and only the small ones are decoded. Malformed JSON
 * inside metadata or data is caught when they are parsed (their hash did
 * not match the text as it stands, which valid PostgreSQL output would).
 */
function readEvent(line: string): BundleEvent {
  const members = topLevelValues(line);
  const raw = (key: string): string => {
    const text = members.get(key);
    if (text === undefined) throw new Error(`${key} is missing`);
    return text;
  };
  const text = (key: string): string => {
    const value = raw(key);
    if (value.length < 2 || value[0] !== '"' || value[value.length - 1] !== '"') throw new Error(`${key} must be a string`);
    return value.includes('\\') ? (JSON.parse(value) as string) : value.slice(1, -1);
  };
  const integer = (key: string): number => {
    const value = raw(key);
    if (!/^[1-9]\d{0,15}$/.test(value) || !Number.isSafeInteger(Number(value))) throw new Error(`${key} must be a positive whole number`);
    return Number(value);
  };
  const hash = (key: string): Buffer => {
    const value = text(key);
    if (!HEX64.test(value)) throw new Error(`${key} must be 64 hex digits`);
    return Buffer.from(value, 'hex');
  };
  const object = (key: string): string => {
    const value = raw(key);
    if (value[0] !== '{') throw new Error(`${key} must be an object`);
    return value;
  };
  const scheme = (): 1 | 2 => {
    const value = raw('hash_scheme');
    if (value !== '1' && value !== '2') throw new Error('hash_scheme must be 1 or 2');
    return value === '1' ? 1 : 2;
  };
  return {
    position: integer('position'),
    streamType: text('stream_type'),
    streamId: text('stream_id'),
    streamVersion: integer('stream_version'),
    type: text('type'),
    recordedAt: text('recorded_at'),
    metadataText: object('metadata'),
    dataText: object('data'),
    prevHash: hash('prev_hash'),
    hash: hash('hash'),
    digest: hash('digest'),
    blockFirst: integer('block_first'),
    blockLast: integer('block_last'),
    hashScheme: scheme(),
  };
}

/**
 * The raw text of each member of a JSON object text, by key; a repeated key
 * keeps its last value, as JSON.parse does. Throws on text that is not an
 * object of members; the members' values are delimited, not validated.
 */
function topLevelValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at += 1;
  };
  const endOfString = (from: number): number => {
    // `from` is the opening quote; returns the index after the closing one.
    let index = from + 1;
    for (;;) {
      const quote = text.indexOf('"', index);
      if (quote < 0) throw new Error('unterminated string');
      let backslashes = 0;
      while (text[quote - 1 - backslashes] === '\\') backslashes += 1;
      if (backslashes % 2 === 0) return quote + 1;
      index = quote + 1;
    }
  };
  skipSpace();
  if (text[at] !== '{') throw new Error('not a JSON object');
  at += 1;
  for (;;) {
    skipSpace();
    if (text[at] !== '"') throw new Error('expected a member name');
    const keyEnd = endOfString(at);
    const key = JSON.parse(text.slice(at, keyEnd)) as string;
    at = keyEnd;
    skipSpace();
    if (text[at] !== ':') throw new Error('expected ":"');
    at += 1;
    skipSpace();
    const start = at;
    const first = text[at];
    if (first === '"') at = endOfString(at);
    else if (first === '{' || first === '[') {
      let depth = 0;
      for (;;) {
        // Jump to the next bracket or quote: the bytes between them do not matter here.
        STRUCTURE.lastIndex = at;
        const found = STRUCTURE.exec(text);
        if (found === null) throw new Error('unterminated object or array');
        at = found.index;
        const char = found[0];
        if (char === '"') {
          at = endOfString(at);
          continue;
        }
        if (char === '{' || char === '[') depth += 1;
        else depth -= 1;
        at += 1;
        if (depth === 0) break;
      }
    } else {
      while (at < text.length && !',} \t\n\r'.includes(text[at]!)) at += 1;
    }
    if (at === start) throw new Error(`${key}: no value`);
    values.set(key, text.slice(start, at));
    skipSpace();
    if (text[at] === ',') {
      at += 1;
      continue;
    }
    if (text[at] !== '}') throw new Error('expected "," or "}"');
    at += 1;
    skipSpace();
    if (at !== text.length) throw new Error('text after the object');
    return values;
  }
}

/** Lines of a UTF-8 stream (without their \n or \r\n). */
async function* splitLines(input: Readable): AsyncGenerator<string> {
  input.setEncoding('utf8');
  let rest = '';
  for await (const chunk of input as AsyncIterable<string>) {
    let text = rest + chunk;
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end < 0) break;
      yield text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
      start = end + 1;
    }
    rest = text.slice(start);
    text = '';
  }
  if (rest !== '') yield rest;
}
