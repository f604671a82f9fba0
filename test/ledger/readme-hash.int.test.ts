import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { append } from '../../src/ledger/append.js';
import { verify } from '../../src/ledger/verify.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { jsonbText, README_FORMULA, readmeHash, type EventText } from '../helpers/readme-hash.js';

// An auditor re-implementing the hash chain from the README alone must get
// the database's hashes: the formula lives in test/helpers/readme-hash.ts
// and must appear verbatim in README.md.
describe('the hash formula in the README', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase(2);
    await append(db.pool, [
      { streamType: 'job', streamId: 'j-1', type: 'job.created', data: { pipeline: 'p', input: { zeta: 1, a: [1, 2.5, 'x'], bb: null } } },
      { streamType: 'job', streamId: 'j-1', type: 'job.started', data: { jobId: 'j-1', note: 'quote " backslash \\ tab \t newline \n é ☃ 😀' } },
    ]);
    await append(db.pool, [
      { streamType: 'worker', streamId: 'w/1', type: 'worker.started', data: { workerId: 'w/1', pid: 42, ok: true, empty: {} } },
    ]);
    await append(
      db.pool,
      [{ streamType: 'job', streamId: 'j-1', type: 'job.completed', data: { jobId: 'j-1', durationMs: 1234.5 } }],
      { expectedVersion: 2 },
    );
    await append(db.pool, [
      { streamType: 'alert', streamId: 'a1', type: 'alert.raised', data: { alertId: 'a1' }, metadata: { actor: 'ops', correlationId: 'c-1' } },
    ]);
  });
  after(() => db.drop());

  it('appears verbatim in README.md', async () => {
    const readme = await fs.readFile(path.join(process.cwd(), 'README.md'), 'utf8');
    assert.ok(readme.includes(README_FORMULA), 'README.md no longer states the formula test/helpers/readme-hash.ts implements');
  });

  it('recomputes every hash of the chain in plain node:crypto', async () => {
    const { rows } = await db.pool.query<{
      position: string; stream_type: string; stream_id: string; stream_version: string; type: string;
      metadata_text: string; data_text: string; recorded_at_text: string; metadata: unknown; data: unknown;
      prev_hash: Buffer; hash: Buffer; block_first: string; block_last: string;
    }>(
      // Columns as text, so nothing is re-rendered by the driver; recorded_at as PostgreSQL prints it in UTC.
      `select position, stream_type, stream_id, stream_version, type, metadata::text as metadata_text,
              data::text as data_text, (recorded_at at time zone 'UTC')::text as recorded_at_text,
              metadata, data, prev_hash, hash, block_first, block_last
         from ledger.events order by position`,
    );
    assert.equal(rows.length, 5);
    let prev: Buffer = Buffer.alloc(32);
    let block: EventText[] = [];
    let blocks = 0;
    for (const row of rows) {
      block.push({
        position: Number(row.position),
        streamType: row.stream_type,
        streamId: row.stream_id,
        streamVersion: Number(row.stream_version),
        type: row.type,
        metadataText: row.metadata_text,
        dataText: row.data_text,
        recordedAt: isoMicros(row.recorded_at_text),
      });
      // The README's rendering rule for jsonb text holds for these values.
      assert.equal(jsonbText(row.data), row.data_text);
      assert.equal(jsonbText(row.metadata), row.metadata_text);
      if (Number(row.position) !== Number(row.block_last)) continue;
      assert.equal(block[0]!.position, Number(row.block_first));
      assert.deepEqual(row.prev_hash, prev, `prev_hash of the block ending at ${row.position}`);
      const hash = readmeHash(prev, block);
      assert.equal(hash.toString('hex'), row.hash.toString('hex'), `hash of the block ending at ${row.position}`);
      prev = hash;
      block = [];
      blocks += 1;
    }
    assert.equal(blocks, 4, 'one block per append');
    const result = await verify(db.pool);
    assert.ok(result.ok);
    assert.equal(result.headHash, prev.toString('hex'));
  });
});

/** `2026-01-02 03:04:05.12` (PostgreSQL's timestamp text, trailing zeros dropped) → `2026-01-02T03:04:05.120000Z`. */
function isoMicros(text: string): string {
  const match = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?$/.exec(text);
  assert.ok(match, `unexpected timestamp text ${text}`);
  return `${match[1]}T${match[2]}.${(match[3] ?? '').padEnd(6, '0')}Z`;
}
