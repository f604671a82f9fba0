import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { AppError } from '../../ops/errors.js';
import { metrics } from '../../ops/metrics/registry.js';
import { filterFromQuery } from '../../stream/filter.js';
import { futureOffset, parseOffset, PROTOCOL_VERSION, type ServerFrame } from '../../stream/protocol.js';
import { createSession } from '../../stream/session.js';
import type { ApiDeps } from '../deps.js';

/**
 * `GET /api/stream?from=N` — the stream for clients without WebSockets, as
 * server-sent events. Each event's `event:` is the frame type, `data:` the
 * same JSON frame the WebSocket sends, and `id:` the offset reached, so a
 * reconnecting EventSource resumes through `Last-Event-ID`.
 */
export function streamRoutes(deps: ApiDeps): Hono {
  const { feed, config, logger } = deps;
  const routes = new Hono();
  routes.get('/', async (c) => {
    const lastEventId = c.req.header('last-event-id');
    const query = new URL(c.req.url).searchParams;
    // Last-Event-ID wins: it is where a reconnecting EventSource really is.
    const field = lastEventId !== undefined && lastEventId !== '' ? 'Last-Event-ID' : 'from';
    const raw = field === 'from' ? query.get('from') : lastEventId;
    const from = raw === null || raw === undefined || raw === '' ? feed.position : parseOffset(raw, field);
    const filter = filterFromQuery(query);
    if (from > feed.position) {
      const head = await feed.head();
      if (from > head) throw futureOffset(field, from, head);
    }
    const snapshot = query.get('snapshot') === '1';
    const address = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress ?? 'unknown';
    if (deps.addressLimit && !deps.addressLimit.acquire(address)) {
      throw new AppError(429, 'too_many_connections', `address: more than ${deps.addressLimit.max} open streams from ${address}`, {
        field: 'address',
      });
    }

    return streamSSE(c, async (stream) => {
      let pendingBytes = 0;
      let queued = from;
      let waiters: (() => void)[] = [];
      let finished: () => void = () => {};
      const done = new Promise<void>((resolve) => (finished = resolve));
      const write = (text: string) => {
        const bytes = Buffer.byteLength(text);
        pendingBytes += bytes;
        void stream.write(text).then(() => {
          pendingBytes -= bytes;
          if (pendingBytes <= lowWater) {
            const ready = waiters;
            waiters = [];
            for (const resolve of ready) resolve();
          }
        });
      };
      const lowWater = Math.max(1, Math.floor(config.maxBufferedBytes / 4));
      const event = (type: ServerFrame['type'], json: string, offset?: number) =>
        write(`event: ${type}\n${offset !== undefined ? `id: ${offset}\n` : ''}data: ${json}\n\n`);
      const end = (code: string, message: string) => {
        session.stop();
        event('error', JSON.stringify({ type: 'error', code, message, from: queued }));
        finished();
      };

      const session = createSession({
        feed,
        db: deps.db,
        replayLimit: config.replayLimit,
        snapshot: deps.snapshot,
        transport: {
          send(json, type, offset) {
            event(type, json, offset);
            metrics.streams.sse.frames += 1;
            if (offset !== undefined) queued = offset;
          },
          full: () => pendingBytes > config.maxBufferedBytes,
          writable: () => (pendingBytes <= lowWater || stream.aborted ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
          slow: () => {
            logger.info({ from: queued }, 'closed slow SSE consumer');
            metrics.streams.sse.slowConsumerCloses += 1;
            end('slow_consumer', `did not read fast enough; reconnect with Last-Event-ID ${queued}`);
          },
        },
      });
      const heartbeat = setInterval(() => write(': heartbeat\n\n'), deps.heartbeatMs ?? 15_000);
      const onShutdown = () => end('shutting_down', `server shutting down; reconnect with Last-Event-ID ${queued}`);
      deps.shutdown?.addEventListener('abort', onShutdown, { once: true });
      stream.onAbort(() => {
        session.stop();
        finished();
      });
      metrics.streams.sse.connections += 1;
      try {
        write('retry: 1000\n\n');
        event('hello', JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, server: deps.serverId, head: feed.position, from }));
        if (deps.shutdown?.aborted) onShutdown();
        else await session.subscribe({ from, filter, snapshot }).catch((error: Error) => {
          logger.error({ err: error }, 'SSE replay failed');
          end('internal', 'internal error; reconnect to resume');
        });
        await done;
      } finally {
        clearInterval(heartbeat);
        metrics.streams.sse.connections -= 1;
        deps.addressLimit?.release(address);
        deps.shutdown?.removeEventListener('abort', onShutdown);
        session.stop();
      }
    });
  });
  return routes;
}
