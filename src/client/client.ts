import { CloseCode } from '../stream/close-codes.js';
import type { StreamFilter } from '../stream/filter.js';
import type { Delta } from '../projections/delta.js';
import type { ServerFrame } from '../stream/protocol.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { applyDeltas, emptyModel, type Model } from '../projections/reducer.js';
import { readSse } from './sse.js';

/** The part of the WHATWG WebSocket the client uses: the browser's, or `ws` in Node. */
export interface WebSocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  close(code?: number, reason?: string): void;
  send(data: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface StreamClientOptions {
  /** The WebSocket endpoint, e.g. `ws://127.0.0.1:3001/ws`. */
  readonly url: string;
  /** The SSE endpoint used when WebSockets fail, e.g. `http://127.0.0.1:3000/api/stream`. */
  readonly sseUrl?: string;
  /** Resume after this offset. Unset: start from a snapshot of the read model. */
  readonly from?: number;
  /** The model the deltas after `from` apply to. (Default: emptyModel()) */
  readonly model?: Model;
  readonly filter?: StreamFilter;
  readonly token?: string;
  /** (Default: globalThis.WebSocket) */
  readonly WebSocket?: WebSocketConstructor;
  /** (Default: globalThis.fetch) */
  readonly fetch?: typeof fetch;
  readonly backoff?: BackoffOptions;
  /** WebSocket connections failing in a row before switching to SSE. (Default: 2) */
  readonly failuresBeforeSse?: number;
  /** After each frame that changed the model (deltas or snapshot). */
  readonly onChange?: (model: Model, deltas: readonly Delta[], offset: number) => void;
  readonly onCaughtUp?: (offset: number) => void;
  /** Error frames, refusals and connection failures; the client keeps retrying unless it `stopped`. */
  readonly onError?: (error: StreamClientError) => void;
  /** Connection state changes: `connecting` (first try), `open` (hello received), `reconnecting` (waiting to retry), `stopped`. */
  readonly onStatus?: (status: StreamStatus, transport: 'ws' | 'sse') => void;
}

export type StreamStatus = 'connecting' | 'open' | 'reconnecting' | 'stopped';

export interface StreamClientError {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  /** True when the client gave up (bad request, unauthorized): retrying would not help. */
  readonly stopped: boolean;
}

export interface StreamClient {
  /** Every event up to here has been applied to `model`. */
  readonly offset: number;
  readonly model: Model;
  readonly transport: 'ws' | 'sse';
  /** Connections opened so far (reconnects included). */
  readonly connections: number;
  close(): void;
}

/**
 * A stream subscriber for Node and the browser: keeps the read model and
 * the last offset, reconnects with exponential backoff and jitter, resumes
 * from that offset (so nothing is missed or applied twice), and falls back
 * to SSE when WebSockets keep failing.
 */
export function createStreamClient(options: StreamClientOptions): StreamClient {
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const fetchImpl: typeof fetch | undefined = options.fetch ?? globalThis.fetch;
  const failuresBeforeSse = options.failuresBeforeSse ?? 2;
  let offset = options.from;
  let model = options.model ?? emptyModel();
  let transport: 'ws' | 'sse' = WebSocketImpl ? 'ws' : 'sse';
  let attempt = 0;
  let wsFailures = 0;
  let connections = 0;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let socket: WebSocketLike | undefined;
  let abort: AbortController | undefined;

  const fail = (error: StreamClientError) => {
    if (error.stopped) stop();
    options.onError?.(error);
  };

  const query = (): URLSearchParams => {
    const params = new URLSearchParams();
    if (offset !== undefined) params.set('from', String(offset));
    else params.set('snapshot', '1');
    const { job, pipeline, types, stats } = options.filter ?? {};
    if (job !== undefined) params.set('job', job);
    if (pipeline !== undefined) params.set('pipeline', pipeline);
    if (types !== undefined) params.set('types', types.join(','));
    if (stats) params.set('stats', '1');
    return params;
  };

  const onFrame = (frame: ServerFrame) => {
    switch (frame.type) {
      case 'hello':
        attempt = 0;
        wsFailures = 0;
        options.onStatus?.('open', transport);
        return;
      case 'snapshot':
        model = frame.model as Model;
        offset = frame.offset;
        options.onChange?.(model, [], frame.offset);
        return;
      case 'deltas': {
        const fresh = offset === undefined ? frame.deltas : frame.deltas.filter((delta) => delta.offset > offset!);
        if (fresh.length > 0) model = applyDeltas(model, fresh);
        offset = Math.max(offset ?? 0, frame.upTo);
        if (fresh.length > 0) options.onChange?.(model, fresh, offset);
        return;
      }
      case 'position':
      case 'caught_up':
        offset = Math.max(offset ?? 0, frame.offset);
        if (frame.type === 'caught_up') options.onCaughtUp?.(offset);
        return;
      case 'error':
        options.onError?.({ code: frame.code, message: frame.message, field: frame.field, stopped: false });
        return;
      default:
        return;
    }
  };

  const reconnect = () => {
    if (closed) return;
    options.onStatus?.('reconnecting', transport);
    const delay = backoffDelay(attempt, options.backoff);
    attempt += 1;
    timer = setTimeout(connect, delay);
  };

  const connectWs = () => {
    const params = query();
    if (options.token !== undefined) params.set('token', options.token);
    let opened = false;
    const ws = new WebSocketImpl!(`${options.url}?${params}`);
    socket = ws;
    ws.onopen = () => {
      opened = true;
      connections += 1;
    };
    ws.onmessage = (event) => {
      if (typeof performance !== 'undefined' && typeof performance.mark === 'function' && String(event.data).startsWith('{"type":"snapshot"')) performance.mark('runledger:snapshot-frame');
      onFrame(JSON.parse(String(event.data)) as ServerFrame);
    };
    ws.onerror = () => {};
    ws.onclose = (event) => {
      socket = undefined;
      if (closed) return;
      if (event.code === CloseCode.unauthorized || event.code === CloseCode.badRequest) {
        fail({ code: event.code === CloseCode.unauthorized ? 'unauthorized' : 'bad_request', message: event.reason, stopped: true });
        return;
      }
      if (!opened) {
        wsFailures += 1;
        if (options.sseUrl !== undefined && wsFailures >= failuresBeforeSse) transport = 'sse';
      }
      reconnect();
    };
  };

  const connectSse = () => {
    const params = query();
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    abort = new AbortController();
    const controller = abort;
    connections += 1;
    readSse(fetchImpl!, `${options.sseUrl}?${params}`, { headers, signal: controller.signal }, (event) => {
      onFrame(JSON.parse(event.data) as ServerFrame);
    })
      .then(() => reconnect())
      .catch((error: Error & { status?: number }) => {
        if (closed || controller.signal.aborted) return;
        if (error.status === 400 || error.status === 401) {
          fail({ code: error.status === 401 ? 'unauthorized' : 'bad_request', message: error.message, stopped: true });
          return;
        }
        reconnect();
      });
  };

  function connect() {
    timer = undefined;
    if (closed) return;
    if (transport === 'ws' && WebSocketImpl) connectWs();
    else if (options.sseUrl !== undefined && fetchImpl) connectSse();
    else fail({ code: 'no_transport', message: 'no WebSocket implementation and no sseUrl', stopped: true });
  }

  function stop() {
    if (!closed) options.onStatus?.('stopped', transport);
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    socket?.close(1000, 'client closed');
    abort?.abort();
  }

  options.onStatus?.('connecting', transport);
  connect();
  return {
    get offset() {
      return offset ?? 0;
    },
    get model() {
      return model;
    },
    get transport() {
      return transport;
    },
    get connections() {
      return connections;
    },
    close: stop,
  };
}
