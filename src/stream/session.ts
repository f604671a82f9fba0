import type { Queryable } from '../ledger/types.js';
import { readRange, type Feed, type FeedBatch } from './feed.js';
import { compileFilter, type StreamFilter } from './filter.js';
import type { Delta } from '../projections/delta.js';
import type { ServerFrame } from './protocol.js';

/** How a session reaches its client: a WebSocket or an SSE response. */
export interface Transport {
  /** Queues one frame (`json` is the frame as JSON; `offset` is set for frames that advance the client). */
  send(json: string, type: ServerFrame['type'], offset?: number): void;
  /**
   * True when the client has more unread bytes queued than allowed. Checked
   * before each live batch, so one large batch alone never counts as slow.
   */
  full(): boolean;
  /** Resolves when the transport has room again; replay waits on it between pages. */
  writable(): Promise<void>;
  /** Closes the client as a slow consumer; the transport knows the last offset it queued. */
  slow(): void;
  /**
   * Joins the transport's broadcast, if it has one: every whole, unfiltered
   * live batch is then written to all its members at once (uWS publish, one
   * call for every such client instead of a send each), after the session
   * saw the batch, and the session calls `carried` instead of `send`.
   * False when the transport has no broadcast.
   */
  join?(): boolean;
  /** The broadcast wrote the frame up to `upTo` to this client. */
  carried?(upTo: number): void;
  /** Leaves the broadcast; sends go one by one again. */
  leave?(): void;
}

/** The read model (or a job/pipeline slice of it) with the offset it is consistent at: projections/snapshot.ts, bound to a pool. */
export type SnapshotFn = (slice: { jobId?: string; pipeline?: string }) => Promise<{ offset: number; model: unknown }>;

export interface SessionOptions {
  readonly feed: Feed;
  readonly db: Queryable;
  readonly transport: Transport;
  /** Further behind than this, a subscriber starts from a snapshot (when one is available). */
  readonly replayLimit: number;
  readonly snapshot?: SnapshotFn;
  /** Events read per history page. (Default: 2000) */
  readonly pageSize?: number;
  /** History pages read at once. (Default: 3) */
  readonly readAhead?: number;
  /** Live deltas held while replaying, before the session rereads history instead. (Default: 20000) */
  readonly maxPending?: number;
}

export interface SessionStart {
  readonly from: number;
  readonly filter: StreamFilter;
  readonly snapshot?: boolean;
}

export interface Session {
  /** Every event up to here has been handled: its matching deltas were queued for the client. */
  readonly offset: number;
  readonly live: boolean;
  /**
   * Replays from `from`, then streams live. Resolves once caught up (or when
   * superseded). The caller checks `from` is not beyond the newest event
   * (connection.ts, refuseFuture).
   */
  subscribe(start: SessionStart): Promise<void>;
  unsubscribe(): void;
  /** Sends a `position` frame if filtered events moved the offset since the last frame. */
  tick(): void;
  stop(): void;
}

const FRAME_DELTAS = 1000;

/**
 * One subscriber's stream. Replay and live use the same mapping; live
 * batches arriving during replay are held, and the switch skips every
 * offset replay already covered, so there is no gap and no repeat.
 */
export function createSession(options: SessionOptions): Session {
  const { feed, db, transport, replayLimit, pageSize = 2000, readAhead = 3, maxPending = 20_000 } = options;
  let state: 'idle' | 'replay' | 'live' | 'stopped' = 'idle';
  let generation = 0;
  let offset = 0;
  let reported = 0;
  let match: ((delta: Delta) => boolean) | undefined;
  let pending: FeedBatch[] = [];
  let pendingDeltas = 0;
  let overflowed = false;
  let joined = false;

  const leave = () => {
    if (joined) transport.leave?.();
    joined = false;
  };

  const send = (frame: ServerFrame, json = JSON.stringify(frame)): void => {
    const at = 'upTo' in frame ? frame.upTo : 'offset' in frame ? frame.offset : undefined;
    if (at !== undefined) reported = at;
    transport.send(json, frame.type, at);
  };

  /** Sends a live batch; false when the client is too far behind to take it (it must be closed). */
  const deliver = (batch: FeedBatch): boolean => {
    if (batch.upTo <= offset) return true;
    if (transport.full()) return false;
    if (joined) {
      // Live batches are consecutive, so every one after joining is whole.
      offset = batch.upTo;
      if (batch.deltas.length > 0) {
        reported = offset;
        transport.carried?.(offset);
      }
      return true;
    }
    const whole = batch.after >= offset;
    let deltas = batch.deltas;
    if (match || !whole) deltas = deltas.filter((delta) => delta.offset > offset && (!match || match(delta)));
    offset = batch.upTo;
    if (deltas.length === 0) return true;
    send({ type: 'deltas', upTo: batch.upTo, deltas }, !match && whole ? batch.frame() : undefined);
    return true;
  };

  const unlisten = feed.listen((batch) => {
    if (state === 'live') {
      if (!deliver(batch)) {
        stop();
        transport.slow();
      }
    } else if (state === 'replay' && !overflowed) {
      pending.push(batch);
      pendingDeltas += batch.deltas.length + 1;
      // Holding more would let one subscriber's replay grow without bound:
      // drop what is held and read it from the table instead.
      if (pendingDeltas > maxPending) {
        overflowed = true;
        pending = [];
        pendingDeltas = 0;
      }
    }
  });

  const replay = async (start: SessionStart, mine: number): Promise<void> => {
    const superseded = () => generation !== mine || state === 'stopped';
    // The connection refused offsets beyond the head (refuseFuture); one
    // ahead of this process's feed is already committed and simply waits.
    const behind = Math.max(0, feed.position - start.from);
    offset = start.from;
    reported = start.from;
    if (options.snapshot && (start.snapshot || behind > replayLimit)) {
      const taken = await options.snapshot({ jobId: start.filter.job, pipeline: start.filter.pipeline });
      if (superseded()) return;
      send({ type: 'snapshot', offset: taken.offset, model: taken.model });
      // The client replaces its model with the snapshot, so it continues from there.
      offset = taken.offset;
    }
    for (;;) {
      // Synchronous from here to the first await: no feed batch can slip in
      // between choosing the target and starting to hold live batches.
      const target = feed.position;
      pending = [];
      pendingDeltas = 0;
      overflowed = false;
      // Pages are position ranges, so several can be read at once while
      // earlier ones are sent.
      const pages: Promise<FeedBatch>[] = [];
      let nextFrom = offset;
      const refill = () => {
        while (pages.length < readAhead && nextFrom < target) {
          const until = Math.min(nextFrom + pageSize, target);
          const page = readRange(db, nextFrom, until);
          page.catch(() => {}); // awaited below; a superseded session may never await it
          pages.push(page);
          nextFrom = until;
        }
      };
      refill();
      while (pages.length > 0) {
        const batch = await pages.shift()!;
        if (superseded()) return;
        refill();
        const deltas = match ? batch.deltas.filter(match) : batch.deltas;
        for (const [chunk, upTo] of frames(deltas, batch.upTo)) send({ type: 'deltas', upTo, deltas: chunk });
        offset = batch.upTo;
        await transport.writable();
        if (superseded()) return;
      }
      if (!overflowed) break;
    }
    state = 'live';
    const held = pending;
    pending = [];
    pendingDeltas = 0;
    for (const batch of held) {
      if (!deliver(batch)) {
        stop();
        transport.slow();
        return;
      }
    }
    send({ type: 'caught_up', offset });
    // From the next batch on (no batch can arrive before this returns), an
    // unfiltered subscriber rides the broadcast, whose frames are whole
    // batches. One that a snapshot put ahead of this process's feed would
    // be sent events it already has, so it stays on its own sends.
    if (!match && offset === feed.position) joined = transport.join?.() ?? false;
  };

  const stopped = () => state === 'stopped';

  const stop = () => {
    leave();
    state = 'stopped';
    generation += 1;
    pending = [];
    unlisten();
  };

  return {
    get offset() {
      return offset;
    },
    get live() {
      return state === 'live';
    },
    async subscribe(start) {
      if (state === 'stopped') return;
      const mine = ++generation;
      leave();
      match = compileFilter(start.filter);
      state = 'replay';
      try {
        await replay(start, mine);
      } catch (error) {
        if (generation === mine && !stopped()) state = 'idle';
        throw error;
      }
    },
    unsubscribe() {
      if (state === 'stopped') return;
      generation += 1;
      leave();
      state = 'idle';
      pending = [];
    },
    tick() {
      if (state === 'live' && offset > reported) send({ type: 'position', offset });
    },
    stop,
  };
}

/** Splits a page into frames of about FRAME_DELTAS deltas, never splitting one event's deltas. */
function* frames(deltas: readonly Delta[], upTo: number): Generator<[readonly Delta[], number]> {
  let start = 0;
  for (let i = FRAME_DELTAS; i < deltas.length; i += 1) {
    if (i - start >= FRAME_DELTAS && deltas[i]!.offset !== deltas[i - 1]!.offset) {
      yield [deltas.slice(start, i), deltas[i - 1]!.offset];
      start = i;
    }
  }
  yield [start === 0 ? deltas : deltas.slice(start), upTo];
}
