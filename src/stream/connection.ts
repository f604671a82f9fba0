import type { Queryable } from '../ledger/types.js';
import type { Logger } from '../ops/logger.js';
import type { Feed } from './feed.js';
import { filterFromQuery, type StreamFilter } from './filter.js';
import { futureOffset, parseOffset, PROTOCOL_VERSION, type ServerFrame } from './protocol.js';
import { createSession, type Session, type SnapshotFn } from './session.js';

/** What every stream connection shares, whichever transport carries it. */
export interface StreamEndpoint {
  readonly feed: Feed;
  readonly db: Queryable;
  readonly logger: Logger;
  /** Names this process in `hello`, so a client can tell which of several servers it reached. */
  readonly serverId: string;
  /** Further behind than this, a subscriber starts from a snapshot (when one is available). */
  readonly replayLimit: number;
  /** Unread bytes a client may have queued before it is closed as a slow consumer. */
  readonly maxBufferedBytes: number;
  readonly snapshot?: SnapshotFn;
  /** Events per history page in replay. (Default: 2000) */
  readonly pageSize?: number;
  /** Live deltas held per subscriber during replay before it rereads instead. (Default: 20000) */
  readonly maxPending?: number;
}

/** The transport under a connection: a WebSocket or an SSE response. */
export interface Sink {
  /** Queues one frame; false when the transport dropped it (a gap: the client must go). */
  write(json: string, type: ServerFrame['type'], offset?: number): boolean;
  /** Bytes queued and not yet taken by the client. */
  buffered(): number;
  /** Closes the client as a slow consumer; `from` is where it resumes. */
  slow(from: number): void;
  /** Joins the transport's broadcast of unfiltered live frames, if it has one (see Transport.join). */
  join?(): boolean;
  /** Leaves it, with every frame already published to it still delivered. */
  leave?(): void;
}

/** Where a new connection starts, read from its URL (and, for SSE, Last-Event-ID). */
export interface StreamStart {
  readonly from: number;
  /** The input `from` came from, named in errors: `from` or `Last-Event-ID`. */
  readonly field: string;
  readonly filter: StreamFilter;
  readonly snapshot: boolean;
}

/** Reads `from`, the filter and `snapshot=1` of a new connection; throws AppError naming the field. Last-Event-ID wins over `from`: it is where a reconnecting EventSource really is. */
export function startFromQuery(feed: Feed, query: URLSearchParams, lastEventId?: string): StreamStart {
  const field = lastEventId !== undefined && lastEventId !== '' ? 'Last-Event-ID' : 'from';
  const raw = field === 'from' ? query.get('from') : lastEventId;
  const from = raw === null || raw === undefined || raw === '' ? feed.position : parseOffset(raw, field);
  return { from, field, filter: filterFromQuery(query), snapshot: query.get('snapshot') === '1' };
}

/** Throws AppError when `from` is beyond the newest committed event. */
export async function refuseFuture(feed: Feed, from: number, field: string): Promise<void> {
  if (from <= feed.position) return;
  const head = await feed.head();
  if (from > head) throw futureOffset(field, from, head);
}

export interface Connection {
  /** Offset of the newest frame queued to the client: where it resumes if closed now. */
  readonly queued: number;
  /** Where the subscriber is: every event up to here was handled. */
  readonly offset: number;
  /** True once a subscription was made (its offset is then meaningful even when 0). */
  readonly subscribed: boolean;
  /** Sends a frame that does not advance the client (hello, errors, pong, …). */
  frame(frame: ServerFrame): void;
  /** Sends `hello` for a connection starting at `from`. */
  hello(from: number): void;
  /** Replaces the subscription; a future offset is refused (AppError) before the old one is dropped. */
  subscribe(start: Omit<StreamStart, 'field'> & { field?: string }, announce: boolean): Promise<void>;
  unsubscribe(): void;
  /** Sends a `position` frame when filtered events moved the offset. */
  tick(): void;
  /** The transport took bytes: wakes a replay waiting for room. */
  drained(): void;
  /** Stops the session; frames after this are dropped. */
  close(): void;
}

/**
 * One client of the stream, over either transport: the session, the hello
 * frame, the future-offset check, backpressure (a replay waits below a low
 * water mark of a quarter of maxBufferedBytes; live batches close a client
 * above maxBufferedBytes) and the resume offset are all here, once.
 */
export function createConnection(endpoint: StreamEndpoint, sink: Sink): Connection {
  const maxBuffered = endpoint.maxBufferedBytes;
  const lowWater = Math.max(1, Math.floor(maxBuffered / 4));
  let queued = 0;
  let closed = false;
  let session: Session | undefined;
  let waiters: (() => void)[] = [];

  const wake = () => {
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };
  const frame = (value: ServerFrame) => {
    if (!closed) sink.write(JSON.stringify(value), value.type);
  };

  return {
    get queued() {
      return queued;
    },
    get offset() {
      return session?.offset ?? queued;
    },
    get subscribed() {
      return session !== undefined;
    },
    frame,
    hello(from) {
      frame({ type: 'hello', protocol: PROTOCOL_VERSION, server: endpoint.serverId, head: endpoint.feed.position, from });
    },
    async subscribe({ from, filter, snapshot, field = 'from' }, announce) {
      await refuseFuture(endpoint.feed, from, field);
      if (closed) return;
      if (announce) frame({ type: 'subscribed', from, filter });
      session?.stop();
      const mine: Session = createSession({
        feed: endpoint.feed,
        db: endpoint.db,
        replayLimit: endpoint.replayLimit,
        snapshot: endpoint.snapshot,
        pageSize: endpoint.pageSize,
        maxPending: endpoint.maxPending,
        transport: {
          send(json, type, offset) {
            if (closed) return;
            if (!sink.write(json, type, offset)) {
              mine.stop();
              sink.slow(queued);
              return;
            }
            if (offset !== undefined) queued = offset;
          },
          full: () => !closed && sink.buffered() > maxBuffered,
          writable: () =>
            closed || sink.buffered() <= lowWater ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
          slow: () => sink.slow(queued),
          join: () => !closed && (sink.join?.() ?? false),
          carried(upTo) {
            queued = upTo;
          },
          leave: () => sink.leave?.(),
        },
      });
      session = mine;
      queued = Math.max(queued, from);
      await mine.subscribe({ from, filter, snapshot });
    },
    unsubscribe() {
      session?.unsubscribe();
    },
    tick() {
      if (!closed) session?.tick();
    },
    drained() {
      if (closed || sink.buffered() <= lowWater) wake();
    },
    close() {
      closed = true;
      session?.stop();
      wake();
    },
  };
}
