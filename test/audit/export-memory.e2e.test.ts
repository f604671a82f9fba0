import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureProjectionVersion } from '../../src/projections/rebuild.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';

const EVENTS = 1_000_000;
const BATCH = 10_000;
/** Generous: the point is "does not grow with the export", not an exact figure (the bench reports that). */
const BOUND_MB = 96;

describe('NDJSON export of 1,000,000 events', () => {
  let db: TestDatabase;
  let serve: ServeProcess;
  before(async () => {
    db = await createTestDatabase(2);
    const started = performance.now();
    await ensureProjectionVersion(db.pool);
    // Through the ledger's own append, 10,000 events per call (one block each): the chain is real and setup takes seconds, not minutes.
    for (let first = 1; first <= EVENTS; first += BATCH) {
      await db.pool.query(
        `select ledger.append((select jsonb_agg(jsonb_build_object(
                  'stream_type', 'audit', 'stream_id', 'bulk-' || (n % 10), 'type', 'audit.bulk',
                  'data', jsonb_build_object('n', n, 'nested', jsonb_build_object('b', 1.50, 'a', n * 7)),
                  'metadata', '{"actor": "test"}'::jsonb) order by n)
                 from generate_series($1::bigint, $2::bigint) n))`,
        [first, Math.min(EVENTS, first + BATCH - 1)],
      );
    }
    // The read model ignores these events: mark them projected, so the server starts idle and only the export moves its RSS.
    await db.pool.query('update projection.checkpoint set position = $1', [EVENTS]);
    console.log(`# setup: ${EVENTS} rows in ${Math.round((performance.now() - started) / 1000)} s`);
    serve = await spawnServe(db.url, { RUNLEDGER_MODEL_SNAPSHOT_EVERY: '0' });
  });
  after(async () => {
    await serve.stop();
    await db.drop();
  });

  it('streams every event, slow reader included, without growing the server\'s RSS by more than a few MB', async () => {
    const response = await fetch(`http://127.0.0.1:${serve.httpPort}/api/events`, { headers: { accept: 'application/x-ndjson' } });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const startRss = serve.rss();
    let maxRss = startRss;
    let lines = 0;
    let bytes = 0;
    let lastLine = '';
    let chunks = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks += 1;
      bytes += value.length;
      for (let index = 0; index < value.length; index += 1) if (value[index] === 10) lines += 1;
      lastLine = Buffer.from(value.subarray(Math.max(0, value.length - 400))).toString();
      // A slow consumer for a while: the server must wait, not buffer.
      if (chunks === 20) await sleep(3000);
      if (chunks % 20 === 0) maxRss = Math.max(maxRss, serve.rss());
    }
    maxRss = Math.max(maxRss, serve.rss());
    assert.equal(lines, EVENTS);
    assert.match(lastLine, /"data":\{"n": 1000000, /);
    const growthMb = (maxRss - startRss) / 1e6;
    console.log(`# streamed ${EVENTS} events, ${Math.round(bytes / 1e6)} MB; server RSS ${Math.round(startRss / 1e6)} MB -> max ${Math.round(maxRss / 1e6)} MB (+${growthMb.toFixed(1)} MB)`);
    assert.ok(growthMb < BOUND_MB, `RSS grew by ${growthMb.toFixed(1)} MB`);
  });
});
