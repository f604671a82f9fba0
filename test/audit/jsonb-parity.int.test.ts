import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { contentDigest } from '../../src/ledger/hash-formula.js';
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
    const { rows } = await db.pool.query<{ digest: Buffer; data_text: string; meta_text: string }>(
      `select ledger.content_digest('job', i, 'job.created', m::jsonb, d::jsonb) as digest, d::jsonb::text as data_text, m::jsonb::text as meta_text
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
      if (/\d/.test(row.data_text)) numbers += 1;
    }
    assert.ok(numbers > 500, 'most bodies carry numbers');
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
