import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { blockHash, blockRoot, contentDigest, eventDigest } from '../../src/ledger/hash-formula.js';
import { JsonObject, jsonbText, parseJson } from '../../src/ledger/jsonb-text.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { randomJsonText, seeded } from './random-json.js';

describe('jsonb text rendering in plain Node', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase(2);
  });
  after(async () => {
    await db.drop();
  });

  it('1,000 random event bodies: the offline content digest equals PostgreSQL\'s for every one', async () => {
    const random = seeded(20261124);
    const datas: string[] = [];
    const metas: string[] = [];
    const ids: string[] = [];
    for (let index = 0; index < 1000; index += 1) {
      // Event bodies are objects; the members are anything.
      let data = randomJsonText(random);
      if (!data.startsWith('{')) data = `{"value": ${data}, "nested": {"z": [${randomJsonText(random)}], "a": ${randomJsonText(random)}}}`;
      datas.push(data);
      metas.push(random() < 0.5 ? '{}' : `{"actor": "user:é${index}", "correlationId": ${randomJsonText(random)}}`);
      ids.push(`job-${index}-${random() < 0.2 ? '日本\t"x"' : 'plain'}`);
    }
    const { rows } = await db.pool.query<{ digest: Buffer; event_digest: Buffer; data_text: string; meta_text: string }>(
      `select ledger.content_digest('job', i, 'job.created', m::jsonb, d::jsonb) as digest,
              ledger.event_digest('job', i, n, 'job.created', m::jsonb, d::jsonb) as event_digest,
              d::jsonb::text as data_text, m::jsonb::text as meta_text
         from unnest($1::text[], $2::text[], $3::text[]) with ordinality as u(d, m, i, n) order by n`,
      [datas, metas, ids],
    );
    assert.equal(rows.length, 1000);
    let numbers = 0;
    for (const [index, row] of rows.entries()) {
      const data = parseJson(datas[index]!);
      const metadata = parseJson(metas[index]!);
      assert.ok(data instanceof JsonObject);
      assert.equal(jsonbText(data), row.data_text, `data text of body ${index}: ${datas[index]}`);
      assert.equal(jsonbText(metadata), row.meta_text, `metadata text of body ${index}`);
      const digest = contentDigest({ streamType: 'job', streamId: ids[index]!, type: 'job.created', metadata, data });
      assert.equal(digest.toString('hex'), row.digest.toString('hex'), `digest of body ${index}`);
      const eventDigestHex = eventDigest({ streamType: 'job', streamId: ids[index]!, streamVersion: index + 1, type: 'job.created', metadata, data }).toString('hex');
      assert.equal(eventDigestHex, row.event_digest.toString('hex'), `event digest (hash_scheme 2) of body ${index}`);
      if (/\d/.test(row.data_text)) numbers += 1;
    }
    assert.ok(numbers > 500, 'most bodies carry numbers');
  });

  it('a block\'s root and hash equal ledger.block_hash over the same digests', async () => {
    const digests = [Buffer.alloc(32, 1), Buffer.alloc(32, 2), Buffer.alloc(32, 3)];
    const prev = Buffer.alloc(32, 9);
    const { rows } = await db.pool.query<{ hash: Buffer; at: string }>(
      `select ledger.block_hash($1::bytea, 4294967297, 4294967299, t, sha256($2::bytea || $3::bytea || $4::bytea)) as hash,
              to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at
         from (select '2026-11-25 01:02:03.000456+05'::timestamptz as t) x`,
      [prev, ...digests],
    );
    assert.equal(rows[0]!.at, '2026-11-24T20:02:03.000456Z');
    assert.equal(blockHash(prev, 4294967297, 4294967299, rows[0]!.at, blockRoot(digests)).toString('hex'), rows[0]!.hash.toString('hex'));
  });

  it('renders the edge cases PostgreSQL documents, and re-parses its own output to the same text', async () => {
    const cases = [
      '{}', '[]', '{"b": 1, "a": 2, "aa": 3, "a": 4}', '{"x": [1.50, 1e2, -0, 5e-3, 0.0]}', '{"s": "\\u00e9\\/\\b\\u001F\\ud83d\\ude00"}',
      '{"é": 1, "z": 2, "ä": 3, "zz": 4}', '{"big": 123456789012345678901234567890}', '{"n": null, "t": true, "f": false}',
    ];
    const { rows } = await db.pool.query<{ text: string }>('select c::jsonb::text as text from unnest($1::text[]) with ordinality as u(c, n) order by n', [cases]);
    for (const [index, row] of rows.entries()) {
      assert.equal(jsonbText(parseJson(cases[index]!)), row.text, cases[index]);
      assert.equal(jsonbText(parseJson(row.text)), row.text);
    }
  });

  it('refuses what jsonb refuses: bad syntax, \\u0000, unpaired surrogates', () => {
    for (const bad of ['{"a": 01}', '{"a": 1,}', '{"a" 1}', '"\\u0000"', '"\\ud800"', '"\\udc00x"', '[1 2]', '{"a": .5}', '{"a": "x']) {
      assert.throws(() => parseJson(bad), /./, bad);
    }
  });
});
