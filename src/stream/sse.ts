import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Queryable } from '../ledger/types.js';
import type { Config } from '../ops/config.js';
import { AppError } from '../ops/errors.js';
import type { Logger } from '../ops/logger.js';
import type { AddressLimit } from './address-limit.js';
import { createConnection, refuseFuture, startFromQuery, type StreamEndpoint } from './connection.js';
import type { Feed } from './feed.js';
import type { ServerFrame } from './protocol.js';
import { metrics } from '../ops/metrics/registry.js';

const sseCounts = metrics.streams.sse;
import type { SnapshotFn } from './session.js';

/** The SSE event name of `error` frames: `error` itself would collide with EventSource's own connection `error` event. */
export const SSE_ERROR_EVENT = 'stream_error';

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

export interface SseOptions {
  readonly config: Pick<Config, 'maxBufferedBytes' | 'replayLimit'>;
  readonly db: Queryable;
  readonly feed: Feed;
  readonly logger: Logger;
  /** Names this process in `hello` frames. */
  readonly serverId: string;
  readonly snapshot?: SnapshotFn;
  /** Aborted on shutdown: open streams end with a `shutting_down` error carrying their resume offset. */
  readonly shutdown?: AbortSignal;
  /** Open streams per client address, shared with the WebSocket server. (Default: none, SSE streams are not capped) */
  readonly addressLimit?: AddressLimit;
  /** Interval of heartbeat comments, ms. (Default: 15000) */
  readonly heartbeatMs?: number;
  /** How often filtered subscribers are told how far they are, ms. (Default: 1000) */
  readonly positionIntervalMs?: number;
}

/**
 * `GET /api/stream?from=N` — the stream for clients without WebSockets, as
 * server-sent events: the same connection (connection.ts) as the WebSocket
 * server, over an SSE response. Each event's `event:` is the frame type,
 * `data:` the same JSON frame the WebSocket sends, and `id:` the offset
 * reached, so a reconnecting EventSource resumes through `Last-Event-ID`.
 */
export function sseHandler(options: SseOptions) {
  const { feed, config, logger } = options;
  const endpoint: StreamEndpoint = { ...options, replayLimit: config.replayLimit, maxBufferedBytes: config.maxBufferedBytes };
  return async function streamEvents(c: Context): Promise<Response> {
    if (options.shutdown?.aborted) {
      // Connection: close, so a browser's EventSource reconnecting over a
      // kept-alive connection does not hold the server open while it stops.
      throw new AppError(503, 'shutting_down', 'server: shutting down; reconnect with Last-Event-ID to another server, or here after Retry-After', {
        headers: { 'retry-after': '5', connection: 'close' },
      });
    }
    // HEAD gets the headers only: no stream, so nothing to release (a HEAD's
    // body is never read, so a stream opened for it would never end).
    if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
    const query = new URL(c.req.url).searchParams;
    const start = startFromQuery(feed, query, c.req.header('last-event-id'));
    await refuseFuture(feed, start.from, start.field);
    const address = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress ?? 'unknown';
    const limit = options.addressLimit;
    if (limit && !limit.acquire(address)) {
      throw new AppError(429, 'too_many_connections', `address: more than ${limit.max} open streams from ${address}`, { field: 'address' });
    }

    return streamSSE(c, async (stream) => {
      let pendingBytes = 0;
      let finished: () => void = () => {};
      const done = new Promise<void>((resolve) => (finished = resolve));
      const write = (text: string) => {
        const bytes = Buffer.byteLength(text);
        pendingBytes += bytes;
        void stream.write(text).then(() => {
          pendingBytes -= bytes;
          connection.drained();
        });
      };
      const event = (type: ServerFrame['type'], json: string, offset?: number) =>
        write(`event: ${type === 'error' ? SSE_ERROR_EVENT : type}\n${offset !== undefined ? `id: ${offset}\n` : ''}data: ${json}\n\n`);
      const end = (code: string, message: string) => {
        connection.frame({ type: 'error', code, message, from: connection.queued });
        connection.close();
        finished();
      };
      const connection = createConnection(endpoint, {
        write(json, type, offset) {
          event(type, json, offset);
          sseCounts.frames += 1;
          return true;
        },
        buffered: () => (stream.aborted ? 0 : pendingBytes),
        slow(from) {
          logger.info({ from }, 'closed slow SSE consumer');
          sseCounts.slowConsumerCloses += 1;
          end('slow_consumer', `did not read fast enough; reconnect with Last-Event-ID ${from}`);
        },
      });

      const heartbeat = setInterval(() => write(': heartbeat\n\n'), options.heartbeatMs ?? 15_000);
      const ticker = setInterval(() => connection.tick(), options.positionIntervalMs ?? 1000);
      const onShutdown = () => end('shutting_down', `server shutting down; reconnect with Last-Event-ID ${connection.queued}`);
      options.shutdown?.addEventListener('abort', onShutdown, { once: true });
      stream.onAbort(() => {
        connection.close();
        finished();
      });
      sseCounts.connections += 1;
      try {
        write('retry: 1000\n\n');
        connection.hello(start.from);
        if (options.shutdown?.aborted) onShutdown();
        else
          await connection.subscribe(start, false).catch((error: Error) => {
            logger.error({ err: error }, 'SSE replay failed');
            end('internal', 'internal error; reconnect to resume');
          });
        await done;
      } finally {
        clearInterval(heartbeat);
        clearInterval(ticker);
        limit?.release(address);
        sseCounts.connections -= 1;
        options.shutdown?.removeEventListener('abort', onShutdown);
        connection.close();
      }
    });
  };
}
