import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { runOrderingHarness, type ReaderHandle } from '../helpers/ordering-harness.js';

// The negative control: the same harness pointed at a plain bigserial table
// read with `position > last` must catch the skipped events that design
// suffers from; otherwise the harness proves nothing about the real ledger.
describe('ordering harness negative control', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase(60);
    await db.pool.query('create table naive_events (position bigserial primary key, data jsonb not null)');
  });
  after(() => db.drop());

  const startPollingReader = async (from: number): Promise<ReaderHandle> => {
    const received: number[] = [];
    let last = from;
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const { rows } = await db.pool.query<{ position: string }>(
          'select position from naive_events where position > $1 order by position',
          [last],
        );
        for (const row of rows) received.push(Number(row.position));
        if (rows.length > 0) last = Number(rows[rows.length - 1]!.position);
        await sleep(2);
      }
    })();
    return {
      start: from,
      received,
      async stop() {
        stopped = true;
        await loop;
      },
    };
  };

  it('detects events skipped by a naive bigserial reader', async () => {
    const result = await runOrderingHarness({
      pool: db.pool,
      writers: 32,
      transactionsPerWriter: 12,
      existing: 0,
      appendInTx: async (client, count, marker) => {
        const { rows } = await client.query<{ position: string }>(
          'insert into naive_events (data) select $1::jsonb from generate_series(1, $2) returning position',
          [JSON.stringify(marker), count],
        );
        return rows.map((row) => Number(row.position));
      },
      startReader: startPollingReader,
    });
    await sleep(300);
    let skipped = 0;
    for (const reader of result.readers) {
      await reader.stop();
      const seen = new Set(reader.received);
      skipped += result.committed.filter((p) => p > reader.start && !seen.has(p)).length;
    }
    assert.ok(skipped > 0, 'the harness must see the naive reader skip committed events');
  });
});
