import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { appendMany, record, startStack, type Stack } from '../helpers/stream.js';

describe('liveness: idle timeout with automatic pings', () => {
  let db: TestDatabase;
  let stack: Stack;
  before(async () => {
    db = await createTestDatabase();
    stack = await startStack(db, {}, { idleTimeoutSeconds: 8 });
  });
  after(async () => {
    await stack.close();
    await db.drop();
  });

  it('closes a connection that never answers pings, keeps one that does', async () => {
    // A hand-made WebSocket that completes the handshake and then never answers anything.
    const raw = net.connect(stack.server.port, '127.0.0.1');
    let handshake = '';
    let ended = false;
    raw.on('data', (chunk) => (handshake += chunk.toString('latin1')));
    raw.on('close', () => (ended = true));
    raw.on('error', () => {});
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const polite = record(stack.url);
    await eventually(() => handshake.startsWith('HTTP/1.1 101'), 10_000, 'the upgrade');
    await eventually(() => polite.frames.some((f) => f.type === 'caught_up'), 10_000, 'live');

    await eventually(() => ended, 60_000, 'the silent connection to be closed');
    assert.equal(polite.closed, undefined, 'the client answering pings is still connected');
    const before = polite.offsets.length;
    await appendMany(db.pool, 1);
    await eventually(() => polite.offsets.length === before + 1, 10_000, 'a live delta');
    await polite.close();
    raw.destroy();
  });
});
