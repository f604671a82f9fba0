import type pg from 'pg';
import WebSocket from 'ws';
import { Doorbell } from '../../src/ledger/doorbell.js';
import { append } from '../../src/ledger/append.js';
import type { Queryable } from '../../src/ledger/types.js';
import { readConfig, type Config } from '../../src/ops/config.js';
import { createLogger } from '../../src/ops/logger.js';
import { startFeed, type Feed } from '../../src/stream/feed.js';
import { startStreamServer, type StreamServer, type StreamServerOptions } from '../../src/stream/server.js';
import { snapshot } from '../../src/projections/snapshot.js';
import { eventually } from './ordering-harness.js';

export interface Stack {
  readonly doorbell: Doorbell;
  readonly feed: Feed;
  readonly server: StreamServer;
  readonly url: string;
  close(): Promise<void>;
}

/** A stream server in this process on a free port, following the test database. */
export async function startStack(
  db: { url: string; pool: pg.Pool },
  overrides: Partial<Config> = {},
  extra: Partial<StreamServerOptions> = {},
): Promise<Stack> {
  const config = { ...readConfig({}), wsPort: 0, tailPollMs: 500, ...overrides };
  const doorbell = new Doorbell(db.url);
  await doorbell.start();
  const feed = await startFeed({ db: db.pool, doorbell, pollMs: config.tailPollMs });
  const server = await startStreamServer({
    config,
    db: db.pool,
    feed,
    logger: createLogger('silent'),
    serverId: 'test',
    snapshot: (slice) => snapshot(db.pool, slice),
    ...extra,
  });
  return {
    doorbell,
    feed,
    server,
    url: `ws://127.0.0.1:${server.port}/ws`,
    async close() {
      await server.close();
      await feed.stop();
      await doorbell.stop();
    },
  };
}

export interface Frame {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface Recorder {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  /** Offsets of every delta received, in arrival order. */
  readonly offsets: number[];
  /** The last offset the server said this client reached (upTo, position, caught_up, snapshot). */
  readonly reached: number;
  readonly closed: { code: number; reason: string } | undefined;
  readonly opened: boolean;
  send(value: unknown): void;
  close(): Promise<void>;
}

/** Opens a raw WebSocket and records every frame, delta offset and the close. */
export function record(url: string, options: WebSocket.ClientOptions = {}): Recorder {
  const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024, ...options });
  const frames: Frame[] = [];
  const offsets: number[] = [];
  let reached = 0;
  let closed: Recorder['closed'];
  let opened = false;
  ws.on('open', () => (opened = true));
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    frames.push(frame);
    if (frame.type === 'deltas') {
      for (const delta of frame.deltas as { offset: number }[]) offsets.push(delta.offset);
      reached = frame.upTo as number;
    } else if (frame.type === 'position' || frame.type === 'caught_up' || frame.type === 'snapshot') {
      reached = frame.offset as number;
    }
  });
  ws.on('close', (code, reason) => (closed = { code, reason: String(reason) }));
  return {
    ws,
    frames,
    offsets,
    get reached() {
      return reached;
    },
    get closed() {
      return closed;
    },
    get opened() {
      return opened;
    },
    send: (value) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
    async close() {
      if (closed) return;
      ws.close();
      await eventually(() => closed !== undefined, 10_000, 'the client socket to close');
    },
  };
}

/** Appends `count` test events in batches; returns the positions. */
export async function appendMany(db: Queryable, count: number, data: Record<string, unknown> = {}, batch = 500): Promise<number[]> {
  const positions: number[] = [];
  for (let done = 0; done < count; done += batch) {
    const n = Math.min(batch, count - done);
    const results = await append(
      db,
      Array.from({ length: n }, (_, i) => ({
        streamType: 'job',
        streamId: `job-${(done + i) % 7}`,
        type: 'step.progress',
        data: { jobId: `job-${(done + i) % 7}`, pipeline: (done + i) % 2 === 0 ? 'even' : 'odd', step: 's', attempt: 1, percent: 1, ...data },
      })),
    );
    positions.push(...results.map((r) => r.position));
  }
  return positions;
}

export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + 1 + i);
