import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'node:net';
import { CloseCode } from '../../src/stream/close-codes.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { appendMany, range, record } from '../helpers/stream.js';

// The default limit. At 256 KB a reading client that had not yet drained
// half of the previous 2 MB append when the next arrived counted as slow:
// under a full parallel test run a reader was closed in the warm-up.
const MAX_BUFFERED = 4 * 1024 * 1024;

describe('slow consumers (invariant 8)', () => {
  let db: TestDatabase;
  let server: ServeProcess;

  before(async () => {
    db = await createTestDatabase();
    server = await spawnServe(db.url, { RUNLEDGER_MAX_BUFFERED_BYTES: String(MAX_BUFFERED) });
  });
  after(async () => {
    await server.stop();
    await db.drop();
  });

  const head = async () => Number((await db.pool.query('select coalesce(max(position), 0) as h from ledger.events')).rows[0].h);

  it('closes a client that stops reading with the slow-consumer code and its resume offset; others keep receiving; memory stays bounded', async () => {
    const url = `ws://127.0.0.1:${server.wsPort}/ws?from=0`;
    const slow = record(url);
    const readers = [record(url), record(url)];
    await eventually(() => [slow, ...readers].every((c) => c.frames.some((f) => f.type === 'caught_up')), 10_000, 'all live');
    // 16 KB deltas, 2 MB per append: far beyond every buffer on the way.
    const message = 'x'.repeat(16 * 1024);
    const traffic = async (megabytes: number) => {
      for (let i = 0; i < megabytes / 2; i += 1) await appendMany(db.pool, 125, { message }, 125);
      const to = await head();
      await eventually(() => readers.every((c) => c.reached === to), 60_000, 'the reading clients to receive everything');
      return to;
    };
    // Warm-up with everyone reading: the slow client keeps up while it still reads.
    const warm = await traffic(40);
    await eventually(() => slow.reached === warm, 60_000, 'the slow client to keep up while it still reads');

    // Stop reading: the kernel buffers fill, then the server's.
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const to = await traffic(80);
    for (const reader of readers) {
      assert.deepEqual(reader.offsets, range(0, to));
      assert.equal(reader.closed, undefined);
    }
    await eventually(() => server.logs.some((line) => line.msg === 'closed slow consumer'), 30_000, 'the server to drop the slow consumer');
    // What the server held for the client when it let it go (its own count,
    // in the log line): without the limit, most of the 80 MB the client never
    // read. Not the process's RSS: under a full parallel test run freed
    // frames left it 47-60 MB up (malloc keeps what it freed), alone 7-14 MB.
    const closed = server.logs.find((line) => line.msg === 'closed slow consumer')!;
    assert.equal(typeof closed.buffered, 'number');
    assert.ok((closed.buffered as number) < 40 * 1024 * 1024, `the server held ${closed.buffered} bytes for the slow client`);

    // Reading again, the client gets what was queued before the close, then the close with its resume offset.
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    await eventually(() => slow.closed !== undefined, 30_000, 'the slow consumer to see its close');
    assert.equal(slow.closed!.code, CloseCode.slowConsumer);
    const match = /^slow_consumer from=(\d+)$/.exec(slow.closed!.reason);
    assert.ok(match, slow.closed!.reason);
    const resumeFrom = Number(match[1]);
    assert.ok(resumeFrom < to, 'it was closed before the end');
    assert.deepEqual(slow.offsets, range(0, resumeFrom));

    const resumed = record(`ws://127.0.0.1:${server.wsPort}/ws?from=${resumeFrom}`);
    await eventually(() => resumed.reached === to, 30_000, 'the resumed client to catch up');
    assert.deepEqual([...slow.offsets, ...resumed.offsets], range(0, to));
    await Promise.all([resumed.close(), ...readers.map((c) => c.close())]);
  });
});
