import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { serve, type ServerType } from '@hono/node-server';
import { pino } from 'pino';
import { z } from 'zod';
import { createApp } from '../../src/api/app.js';
import { readConfig, type Config } from '../../src/ops/config.js';
import { definePipeline, registerPipeline } from '../../src/pipelines/index.js';
import { startProjector, type Projector } from '../../src/projections/projector.js';
import { snapshot } from '../../src/projections/snapshot.js';
import type { TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { startStack, type Stack } from '../helpers/stream.js';

export { eventually };

/**
 * `api_test`: one step that fails when the input says so (no retries, so the
 * job is dead-lettered at once) and otherwise waits `ms`.
 */
export function registerTestPipeline() {
  return registerPipeline(
    definePipeline({
      name: 'api_test',
      input: z.object({ url: z.string().url(), fail: z.boolean().default(false), ms: z.number().int().min(0).max(60_000).default(0) }),
      steps: [
        {
          name: 'only',
          retry: { maxAttempts: 1 },
          handler: async (ctx) => {
            if (ctx.input.ms > 0) await new Promise((resolve) => setTimeout(resolve, ctx.input.ms));
            if (ctx.input.fail) throw new Error('asked to fail');
            return { ok: true };
          },
        },
      ],
    }),
  );
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

export interface Api {
  readonly base: string;
  readonly stack: Stack;
  /** Every log line the API wrote. */
  readonly logs: Record<string, unknown>[];
  call(method: string, path: string, options?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Reply>;
  head(): Promise<number>;
  close(): Promise<void>;
}

export const ADMIN = 'admin-token-for-tests';
export const READER = 'read-token-for-tests';

/** The API in this process on a free port, with a projector and a stream feed, against the test database. */
export async function startApi(db: TestDatabase, overrides: Partial<Config> = {}, options: { projector?: boolean } = {}): Promise<Api> {
  const config: Config = { ...readConfig({}), token: ADMIN, readTokens: [{ name: 'viewer', token: READER }], writeRatePerSecond: 0, ...overrides };
  const stack = await startStack(db, config);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  let projector: Projector | undefined;
  if (options.projector !== false) projector = startProjector({ pool: db.pool, doorbell: stack.doorbell, logger: pino({ level: 'silent' }), pollMs: 200 });
  const shutdown = new AbortController();
  const app = createApp({ config, db: db.pool, feed: stack.feed, logger, serverId: 'api-test', snapshot: (slice) => snapshot(db.pool, slice), shutdown: shutdown.signal, heartbeatMs: 200 });
  const http = await new Promise<ServerType>((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server));
  });
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    base,
    stack,
    logs,
    async call(method, path, { token = ADMIN, body, raw, headers = {} } = {}) {
      const res = await fetch(base + path, {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    async head() {
      const { rows } = await db.pool.query<{ h: string }>('select coalesce(max(position), 0) as h from ledger.events');
      return Number(rows[0]!.h);
    },
    async close() {
      shutdown.abort();
      await new Promise((resolve) => http.close(resolve));
      await projector?.stop();
      await stack.close();
    },
  };
}

/** The read model has caught up with the ledger. */
export async function projected(api: Api, db: TestDatabase): Promise<void> {
  const target = await api.head();
  await eventually(async () => {
    const { rows } = await db.pool.query<{ position: string }>('select position from projection.checkpoint');
    return Number(rows[0]!.position) >= target;
  }, 30_000, 'the projector to catch up');
}
