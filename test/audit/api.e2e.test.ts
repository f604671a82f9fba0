import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelAsOf } from '../../src/projections/model-at.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { appendMixedLedger, runledger } from './cli.js';

describe('auditors over HTTP: events, export, checkpoints, the dashboard as of N', () => {
  let db: TestDatabase;
  let serve: ServeProcess;
  let base: string;
  let dir: string;
  let keys: Record<string, string>;
  let exported: string[];
  before(async () => {
    db = await createTestDatabase(4);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runledger-api-audit-'));
    const generated = await runledger(undefined, ['keygen']);
    keys = Object.fromEntries(generated.stdout.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2)));
    serve = await spawnServe(db.url, {
      RUNLEDGER_SIGNING_KEY: keys.RUNLEDGER_SIGNING_KEY!,
      RUNLEDGER_CHECKPOINT_EVERY: '100000,1s',
      RUNLEDGER_MODEL_SNAPSHOT_EVERY: '200',
    });
    base = `http://127.0.0.1:${serve.httpPort}`;
    await appendMixedLedger(db.pool, 600, 200);
    exported = (await runledger(db.url, ['export'])).stdout.split('\n').filter((line) => line !== '').slice(1);
  });
  after(async () => {
    await serve.stop();
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (pathname: string, headers: Record<string, string> = {}) => fetch(`${base}${pathname}`, { headers });
  const json = async (pathname: string) => {
    const response = await get(pathname);
    assert.equal(response.status, 200, `${pathname}: ${await response.clone().text()}`);
    return response.json() as Promise<Record<string, unknown>>;
  };

  it('GET /api/events pages with a cursor through exactly the exported events, every column, data to the last digit', async () => {
    const seen: string[] = [];
    let after = 0;
    for (;;) {
      const page = await (await get(`/api/events?after=${after}&limit=300`)).text();
      const parsed = JSON.parse(page) as { data: unknown[]; next: number | null };
      // The page's text carries each event exactly as the export line does.
      const body = page.slice('{"data":['.length, page.lastIndexOf('],"next":'));
      if (parsed.data.length > 0) seen.push(...splitTopLevel(body));
      if (parsed.next === null) break;
      after = parsed.next;
    }
    assert.equal(seen.length, 800);
    assert.deepEqual(seen, exported);
  });

  it('filters by type, family, stream, job and time', async () => {
    const all = exported.map((line) => JSON.parse(line) as { position: number; type: string; stream_type: string; stream_id: string; recorded_at: string });
    const check = async (query: string, expected: typeof all) => {
      const body = (await json(`/api/events?limit=1000&${query}`)) as { data: { position: number }[] };
      assert.deepEqual(body.data.map((event) => event.position), expected.map((event) => event.position), query);
      assert.ok(expected.length > 0, `${query} selects something`);
    };
    await check('type=job.created', all.filter((event) => event.type === 'job.created'));
    await check('type=step.*', all.filter((event) => event.type.startsWith('step.')));
    await check('stream_type=audit', all.filter((event) => event.stream_type === 'audit'));
    const job = all.find((event) => event.stream_type === 'job')!.stream_id;
    await check(`job=${encodeURIComponent(job)}`, all.filter((event) => event.stream_type === 'job' && event.stream_id === job));
    await check(`stream_type=audit&stream_id=${encodeURIComponent(all.at(-1)!.stream_id)}`, all.filter((event) => event.stream_id === all.at(-1)!.stream_id));
    const middle = all[400]!.recorded_at;
    await check(`from_time=${middle}`, all.filter((event) => event.recorded_at >= middle));
    await check(`to_time=${middle}`, all.filter((event) => event.recorded_at < middle));
    for (const [query, field] of [['limit=1001', 'limit'], ['limit=0', 'limit'], ['after=-1', 'after'], ['type=Job', 'type'], ['type=job', 'type'], ['from_time=yesterday', 'from_time']]) {
      const response = await get(`/api/events?${query}`);
      assert.equal(response.status, 400, query);
      assert.equal(response.headers.get('content-type'), 'application/problem+json');
      assert.equal(((await response.json()) as { field: string }).field, field, query);
    }
  });

  it('Accept: application/x-ndjson streams the whole selection; /api/events/export is a bundle that verifies offline', async () => {
    const stream = await get('/api/events?type=job.*', { accept: 'application/x-ndjson' });
    assert.equal(stream.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await stream.text()).split('\n').filter((line) => line !== '');
    assert.deepEqual(lines, exported.filter((line) => (JSON.parse(line) as { type: string }).type.startsWith('job.')));

    const bundle = await get('/api/events/export?from=101');
    const file = path.join(dir, 'api.ndjson');
    fs.writeFileSync(file, await bundle.text());
    const verified = await runledger('postgres://nobody@127.0.0.1:1/none', ['verify', '--file', file]);
    assert.equal(verified.stdout.trim(), `ok 700 ${(JSON.parse(exported.at(-1)!) as { hash: string }).hash}`);
    const bad = await get('/api/events/export?to=99999');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'to');
  });

  it('the server signs checkpoints; a saved one verifies against the database with the served key', async () => {
    const key = (await json('/api/checkpoints/key')) as { public_key: string };
    assert.equal(key.public_key, keys.RUNLEDGER_PUBLIC_KEY);
    let checkpoints: { position: number }[] = [];
    await eventually(async () => {
      checkpoints = ((await json('/api/checkpoints')) as { data: { position: number }[] }).data;
      return checkpoints[0]?.position === 800;
    }, 30_000, 'a checkpoint of the head');
    const cpFile = path.join(dir, 'cp.json');
    fs.writeFileSync(cpFile, JSON.stringify(checkpoints[0]));
    const result = await runledger(db.url, ['verify', '--checkpoint', cpFile, '--public-key', key.public_key]);
    assert.equal(result.code, 0, result.stdout);
    assert.equal(((await json('/api/checkpoints?before=1')) as { data: unknown[] }).data.length, 0);
  });

  it('GET /api/dashboard?at=N is the model as of N (from a stored snapshot); diff names the changes; bad offsets name the field', async () => {
    await eventually(async () => (await db.pool.query('select count(*)::int as n from runledger.model_snapshots')).rows[0].n >= 4, 30_000, 'model snapshots');
    for (const n of [0, 250, 799]) {
      const body = (await json(`/api/dashboard?at=${n}`)) as { offset: number; base: number; model: unknown };
      assert.equal(body.offset, n);
      assert.equal(body.base, Math.floor(n / 200) * 200);
      assert.deepStrictEqual(body.model, (await modelAsOf(db.pool, n)).model);
    }
    const diff = (await json('/api/dashboard/diff?from=100&to=300')) as { changes: { jobs: { upserted: object } } };
    assert.ok(Object.keys(diff.changes.jobs.upserted).length > 0);
    for (const [query, field] of [['/api/dashboard?at=99999', 'at'], ['/api/dashboard?at=x', 'at'], ['/api/dashboard/diff?from=1', 'to'], ['/api/dashboard/diff?from=1&to=99999', 'to']]) {
      const response = await get(query!);
      assert.equal(response.status, 400, query);
      assert.equal(((await response.json()) as { field: string }).field, field, query);
    }
  });
});

/** Splits `a,b,c` where each item is a JSON object, at the top level only. */
function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') depth += 1;
    else if (char === '}' || char === ']') depth -= 1;
    else if (char === ',' && depth === 0) {
      items.push(text.slice(start, index));
      start = index + 1;
    }
  }
  items.push(text.slice(start));
  return items;
}
