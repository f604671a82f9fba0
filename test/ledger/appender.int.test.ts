import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAppender } from '../../src/ledger/appender.js';
import { read } from '../../src/ledger/read.js';
import type { NewEvent } from '../../src/ledger/types.js';
import { AppError } from '../../src/ops/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const event = (caller: number, i: number): NewEvent => ({
  streamType: 'job',
  streamId: `caller-${caller}`,
  type: 'job.progress',
  data: { caller, i },
});

describe('appender (group commit)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  it('commits concurrent callers together, each caller\'s events contiguous and in order', async () => {
    const appender = createAppender(db.pool);
    const calls = Array.from({ length: 60 }, (_, caller) =>
      appender.append(Array.from({ length: 1 + (caller % 4) }, (_, i) => event(caller, i))),
    );
    const results = await Promise.all(calls);
    const events = await read(db.pool, { limit: 10_000 });
    assert.equal(events.length, results.flat().length);
    for (const [caller, result] of results.entries()) {
      const positions = result.map((r) => r.position);
      assert.deepEqual(positions, positions.map((_, i) => positions[0]! + i), 'contiguous');
      for (const [i, { position, streamVersion }] of result.entries()) {
        const stored = events[position - 1]!;
        assert.deepEqual(stored.data, { caller, i });
        assert.equal(stored.streamVersion, streamVersion);
      }
    }
    const { rows } = await db.pool.query('select count(distinct xmin::text)::int as n from ledger.blocks');
    assert.ok(rows[0].n < calls.length, `fewer transactions (${rows[0].n}) than callers (${calls.length})`);
  });

  it('refuses a bad event for its caller alone; expectedVersion still checks', async () => {
    const appender = createAppender(db.pool);
    const outcomes = await Promise.allSettled([
      appender.append([event(100, 0)]),
      appender.append([{ ...event(101, 0), type: 'Bad' }]),
      appender.append([event(102, 0)]),
      appender.append([event(100, 1)], { expectedVersion: 5 }),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    assert.ok((outcomes[1] as PromiseRejectedResult).reason instanceof AppError);
    assert.equal(((outcomes[3] as PromiseRejectedResult).reason as AppError).code, 'version_conflict');
  });
});
