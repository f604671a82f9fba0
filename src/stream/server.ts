import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket, us_socket, us_socket_context_t } from 'uWebSockets.js';
import type { Config } from '../ops/config.js';
import { AppError } from '../ops/errors.js';
import type { Logger } from '../ops/logger.js';
import { createAddressLimit, type AddressLimit } from './address-limit.js';
import { createConnection, startFromQuery, type Connection, type StreamEndpoint } from './connection.js';
import { loadUws } from './native.js';
import { CloseCode } from './close-codes.js';
import { closeReason, parseClientMessage } from './protocol.js';
import { bearer, tokenMatches } from './token.js';
import { metrics } from '../ops/metrics/registry.js';

const wsCounts = metrics.streams.ws;

/** The uWS topic every unfiltered live subscriber joins: one publish per batch reaches them all. */
const BROADCAST = 'deltas';

export type StreamServerConfig = Pick<
  Config,
  'host' | 'wsPort' | 'token' | 'maxMessageBytes' | 'maxConnectionsPerIp' | 'replayLimit' | 'maxBufferedBytes'
>;

export interface StreamServerOptions extends Omit<StreamEndpoint, 'replayLimit' | 'maxBufferedBytes'> {
  readonly config: StreamServerConfig;
  readonly logger: Logger;
  /** Seconds without traffic before a socket is closed; pings are sent automatically before that. (Default: 60) */
  readonly idleTimeoutSeconds?: number;
  /** Shared with the SSE route so both count against one cap. (Default: a new one of config.maxConnectionsPerIp) */
  readonly addressLimit?: AddressLimit;
  /** How often filtered subscribers are told how far they are, ms. (Default: 1000) */
  readonly positionIntervalMs?: number;
  /**
   * Decides who may connect, from the query (`?ticket=`, `?token=`) and the
   * Authorization header; null refuses. (Default: config.token, compared in constant time)
   */
  readonly authenticate?: (query: URLSearchParams, authorization: string) => Promise<boolean>;
}

export interface StreamServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly connections: number;
  /** Clients on the broadcast: unfiltered WebSocket subscribers that have caught up. */
  readonly broadcasting: number;
  /** Stops accepting, closes every socket with the shutdown code and its resume offset. */
  close(): Promise<void>;
}

interface Client {
  readonly address: string;
  readonly query: URLSearchParams;
  readonly refuse?: { code: number; reason: string };
  connection?: Connection;
  closed: boolean;
}

/**
 * The WebSocket server, on uWebSockets.js's native binding:
 * `ws://HOST:PORT/ws?from=N&job=&pipeline=&types=&stats=1&token=`.
 * The protocol is in protocol.ts and docs/stream.md.
 */
export async function startStreamServer(options: StreamServerOptions): Promise<StreamServer> {
  const uws = loadUws();
  const { config, feed, logger } = options;
  const maxBuffered = config.maxBufferedBytes;
  const endpoint: StreamEndpoint = { ...options, replayLimit: config.replayLimit, maxBufferedBytes: maxBuffered };
  const limit = options.addressLimit ?? createAddressLimit(config.maxConnectionsPerIp);
  const sockets = new Set<WebSocket<Client>>();
  let closing = false;

  const end = (ws: WebSocket<Client>, code: number, reason: string) => {
    const client = ws.getUserData();
    if (client.closed) return;
    client.closed = true;
    ws.end(code, reason);
  };

  const refuse = (ws: WebSocket<Client>, connection: Connection, error: unknown) => {
    if (error instanceof AppError) {
      connection.frame({ type: 'error', code: error.code, message: error.message, field: error.field });
      end(ws, CloseCode.badRequest, closeReason(`bad_request ${error.field ?? ''}`.trim()));
    } else {
      logger.error({ err: error }, 'stream subscription failed');
      connection.frame({ type: 'error', code: 'internal', message: 'internal error; reconnect to resume' });
      end(ws, 1011, closeReason('internal_error', connection.queued));
    }
  };

  /** The WebSocket under a connection; uWS reports a dropped frame as 2. */
  const sink = (ws: WebSocket<Client>) => ({
    write(json: string) {
      if (ws.getUserData().closed) return true;
      let result = 0;
      ws.cork(() => {
        result = ws.send(json);
      });
      wsCounts.frames += 1;
      return result !== 2;
    },
    buffered: () => ws.getBufferedAmount(),
    slow(from: number) {
      const client = ws.getUserData();
      logger.info({ address: client.address, from, buffered: ws.getBufferedAmount() }, 'closed slow consumer');
      end(ws, CloseCode.slowConsumer, closeReason('slow_consumer', from));
      wsCounts.slowConsumerCloses += 1;
    },
    join: () => !ws.getUserData().closed && ws.subscribe(BROADCAST),
    leave() {
      // A closed socket has left every topic already.
      if (ws.getUserData().closed) return;
      // uWS holds a published frame until its loop drains the topic, and
      // unsubscribing first would drop it; any send drains the socket's
      // held frames first, and a ping is the frame every client ignores.
      ws.ping();
      ws.unsubscribe(BROADCAST);
    },
  });

  const app: TemplatedApp = uws.App();
  app.ws<Client>('/ws', {
    // Up to twice the limit uWS hands us the message and we close with 1009
    // and a reason; beyond that uWS drops the connection itself (1006).
    maxPayloadLength: config.maxMessageBytes * 2,
    idleTimeout: options.idleTimeoutSeconds ?? 60,
    sendPingsAutomatically: true,
    // We close slow consumers ourselves at maxBufferedBytes (with a resume
    // offset); uWS's own limit is only a backstop and must never drop frames.
    maxBackpressure: maxBuffered + 256 * 1024 * 1024,
    closeOnBackpressureLimit: 0,
    upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
      const address = Buffer.from(res.getRemoteAddressAsText()).toString();
      const query = new URLSearchParams(req.getQuery() ?? '');
      const authorization = req.getHeader('authorization');
      const headers = [req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions')] as const;
      const upgrade = (refusal: Client['refuse']) => {
        const client: Client = { address, query, refuse: refusal, closed: false };
        res.upgrade(client, headers[0], headers[1], headers[2], context);
      };
      if (closing) return upgrade({ code: CloseCode.shuttingDown, reason: 'shutting_down' });
      if (!options.authenticate) {
        const ok = config.token === undefined || tokenMatches(config.token, query.get('token') ?? bearer(authorization));
        return upgrade(ok ? undefined : { code: CloseCode.unauthorized, reason: 'unauthorized' });
      }
      // Tickets are redeemed in the database: upgrade once that answered,
      // unless the client went away meanwhile.
      let aborted = false;
      res.onAborted(() => (aborted = true));
      options.authenticate(query, authorization).then(
        (ok) => !aborted && res.cork(() => upgrade(ok ? undefined : { code: CloseCode.unauthorized, reason: 'unauthorized' })),
        (error: unknown) => {
          logger.error({ err: error }, 'stream authentication failed');
          if (!aborted) res.cork(() => upgrade({ code: CloseCode.unauthorized, reason: 'unauthorized' }));
        },
      );
    },
    open: (ws) => {
      const client = ws.getUserData();
      // Refused after the upgrade rather than with an HTTP status: a
      // browser's WebSocket only ever sees close codes.
      if (client.refuse) {
        end(ws, client.refuse.code, client.refuse.reason);
        return;
      }
      if (!limit.acquire(client.address)) {
        logger.warn({ address: client.address, max: limit.max }, 'connection cap reached');
        end(ws, CloseCode.tooManyConnections, closeReason(`too_many_connections max=${limit.max}`));
        return;
      }
      sockets.add(ws);
      wsCounts.connections += 1;
      const connection = createConnection(endpoint, sink(ws));
      client.connection = connection;
      let start;
      try {
        start = startFromQuery(feed, client.query);
      } catch (error) {
        refuse(ws, connection, error);
        return;
      }
      connection.hello(start.from);
      connection.subscribe(start, false).catch((error) => refuse(ws, connection, error));
    },
    message: (ws, message, isBinary) => {
      const client = ws.getUserData();
      const connection = client.connection;
      if (client.closed || connection === undefined) return;
      if (message.byteLength > config.maxMessageBytes) {
        logger.warn({ address: client.address, bytes: message.byteLength }, 'stream message over the limit');
        end(ws, 1009, closeReason(`message_too_big max=${config.maxMessageBytes}`));
        return;
      }
      let parsed;
      try {
        if (isBinary) throw new AppError(400, 'invalid_message', 'message: binary frames are not accepted; send JSON text', { field: 'message' });
        parsed = parseClientMessage(Buffer.from(message).toString('utf8'));
      } catch (error) {
        const appError = error as AppError;
        connection.frame({ type: 'error', code: appError.code, message: appError.message, field: appError.field });
        return;
      }
      if (parsed.type === 'ping') {
        connection.frame({ type: 'pong', ...(parsed.id !== undefined ? { id: parsed.id } : {}), offset: connection.offset });
      } else if (parsed.type === 'unsubscribe') {
        connection.unsubscribe();
        connection.frame({ type: 'unsubscribed', offset: connection.offset });
      } else {
        const from = parsed.from ?? (connection.subscribed ? connection.offset : feed.position);
        connection.subscribe({ from, filter: parsed.filter, snapshot: parsed.snapshot === true }, true).catch((error) => {
          if (!(error instanceof AppError)) return refuse(ws, connection, error);
          connection.frame({ type: 'error', code: error.code, message: error.message, field: error.field });
        });
      }
    },
    drain: (ws) => ws.getUserData().connection?.drained(),
    close: (ws) => {
      const client = ws.getUserData();
      client.closed = true;
      client.connection?.close();
      if (sockets.delete(ws)) {
        limit.release(client.address);
        wsCounts.connections -= 1;
      }
    },
  });
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end('{"error":"the stream is at /ws"}');
  });

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.wsPort, (socket) => {
      if (socket) resolve(socket);
      else reject(new Error(`the stream server could not listen on ${config.host}:${config.wsPort}; is the port taken? (WS_PORT)`));
    });
  });
  const port = uws.us_socket_local_port(listenSocket as unknown as us_socket);

  // After every session saw the batch (and a slow one left): one publish
  // writes the shared frame to every unfiltered live subscriber, in uWS's
  // C++ loop, instead of a send from JavaScript per socket.
  const stopBroadcast = feed.afterListeners((batch) => {
    if (batch.deltas.length === 0) return;
    const members = app.numSubscribers(BROADCAST);
    if (members === 0) return;
    app.publish(BROADCAST, batch.frame(), false);
    wsCounts.frames += members;
  });
  const ticker = setInterval(() => {
    for (const ws of sockets) {
      const client = ws.getUserData();
      if (!client.closed) ws.cork(() => client.connection?.tick());
    }
  }, options.positionIntervalMs ?? 1000);
  ticker.unref();

  return {
    port,
    get connections() {
      return sockets.size;
    },
    get broadcasting() {
      return app.numSubscribers(BROADCAST);
    },
    async close() {
      closing = true;
      clearInterval(ticker);
      stopBroadcast();
      uws.us_listen_socket_close(listenSocket);
      for (const ws of [...sockets]) {
        const connection = ws.getUserData().connection;
        connection?.close();
        end(ws, CloseCode.shuttingDown, closeReason('shutting_down', connection?.queued));
      }
    },
  };
}
