import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { append } from '../../src/ledger/append.js';
import { read } from '../../src/ledger/read.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

describe('reading by position range', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
    // Blocks of 1, 3, 5, 2 and 4 events: ranges start and end inside blocks.
    let i = 0;
    for (const size of [1, 3, 5, 2, 4]) {
      await append(db.pool, Array.from({ length: size }, () => ({ streamType: 'job', streamId: `read-${i % 3}`, type: 'job.progress', data: { i: i++ } })));
    }
  });
  after(() => db.drop());

  it('returns exactly the events after a position, up to the limit, across blocks', async () => {
    for (let from = 0; from <= 15; from += 1) {
      for (const limit of [1, 2, 4, 7, 20]) {
        const events = await read(db.pool, { after: from, limit });
        const expected = Array.from({ length: Math.max(0, Math.min(limit, 15 - from)) }, (_, k) => from + k + 1);
        assert.deepEqual(events.map((e) => e.position), expected, `after ${from}, limit ${limit}`);
        assert.deepEqual(events.map((e) => (e.data as { i: number }).i), expected.map((p) => p - 1));
      }
    }
  });

  it('has a plan PostgreSQL can keep: both ends of the range in the block index condition', async () => {
    const { rows } = await db.pool.query<{ 'QUERY PLAN': string }>(
      'explain (generic_plan) select position from ledger.events_range($1::bigint, $2::bigint) limit $3',
    );
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    assert.match(plan, /Index Cond: \(\(last_position > \$1\) AND \(last_position <= /, plan);
    assert.doesNotMatch(plan, /IS NULL/, plan);
  });
});
