import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkCheckpoint, checkpointIfDue, listCheckpoints } from '../../src/audit/checkpoints.js';
import { parseSigningKey } from '../../src/audit/signing-key.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { appendMixedLedger, runledger } from './cli.js';
import { demoSource } from '../projections/helpers.js';

/**
 * What a malicious superuser does: triggers off (on the base tables of the
 * ledger.events view), change one event and its digest, then re-hash its
 * block and every block after it, exactly as the seal would.
 */
const REWRITE_SQL = `
do $$
declare
  v_block ledger.blocks;
  v_prev bytea;
  v_root bytea;
  r ledger.blocks;
begin
  set local session_replication_role = replica;
  select * into v_block from ledger.blocks where first_position <= $1 and last_position >= $1;
  update ledger.bodies
     set data = data || '{"rewritten": true}',
         digest = ledger.event_digest(stream_type, stream_id, stream_version, type, metadata, data || '{"rewritten": true}')
   where block_id = v_block.block_id and ordinal = $1 - v_block.first_position + 1;
  v_prev := v_block.prev_hash;
  for r in select * from ledger.blocks where last_position >= v_block.last_position order by last_position loop
    select sha256(string_agg(digest, ''::bytea order by ordinal)) into v_root from ledger.bodies where block_id = r.block_id;
    update ledger.blocks
       set prev_hash = v_prev, root = v_root,
           hash = ledger.block_hash(v_prev, r.first_position, r.last_position, r.sealed_at, v_root)
     where last_position = r.last_position
    returning hash into v_prev;
  end loop;
end
$$`;

describe('signed checkpoints', () => {
  let db: TestDatabase;
  let dir: string;
  let keys: { RUNLEDGER_SIGNING_KEY: string; RUNLEDGER_PUBLIC_KEY: string };
  before(async () => {
    db = await createTestDatabase(4);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runledger-cp-'));
    const generated = await runledger(undefined, ['keygen']);
    assert.equal(generated.code, 0);
    keys = Object.fromEntries(generated.stdout.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2))) as typeof keys;
  });
  after(async () => {
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a checkpoint is signed when due, verifies, and its table refuses changes', async () => {
    const key = parseSigningKey(keys.RUNLEDGER_SIGNING_KEY);
    assert.equal(await checkpointIfDue(db.pool, key, { events: 10, seconds: 3600 }), undefined, 'nothing to sign on an empty ledger');
    await appendMixedLedger(db.pool, 300, 100);
    const first = await checkpointIfDue(db.pool, key, { events: 10, seconds: 3600 });
    assert.equal(first?.position, 400);
    assert.equal(first.public_key, keys.RUNLEDGER_PUBLIC_KEY);
    assert.equal(checkCheckpoint(first), undefined);
    assert.equal(checkCheckpoint(first, keys.RUNLEDGER_PUBLIC_KEY), undefined);
    assert.match(checkCheckpoint({ ...first, position: 399 })!, /^signature/);
    assert.match(checkCheckpoint({ ...first, hash: 'ab'.repeat(32) })!, /^signature/);
    assert.match(checkCheckpoint(first, Buffer.alloc(32, 1).toString('base64'))!, /^public_key/);
    await demoSource({ seed: 3 })(db.pool, 5, 5);
    assert.equal(await checkpointIfDue(db.pool, key, { events: 10, seconds: 3600 }), undefined, 'fewer than 10 new events, not old enough');
    assert.equal((await checkpointIfDue(db.pool, key, { events: 10, seconds: 1 }, new Date(Date.now() + 2000)))?.position, 405, 'old enough');
    assert.deepEqual((await listCheckpoints(db.pool)).map((cp) => cp.position), [405, 400]);
    for (const statement of ['update ledger.checkpoints set position = 1', 'delete from ledger.checkpoints', 'truncate ledger.checkpoints']) {
      await assert.rejects(db.pool.query(statement), /ledger\.checkpoints is append-only/);
    }
  });

  it('verify --checkpoint fails after a superuser rewrote an earlier event and re-hashed the whole chain', async () => {
    const [saved] = await listCheckpoints(db.pool, { before: 401 });
    assert.equal(saved!.position, 400);
    const cpFile = path.join(dir, 'cp.json');
    fs.writeFileSync(cpFile, JSON.stringify(saved));
    await demoSource({ seed: 4 })(db.pool, 50, 10);
    const pinned = ['--checkpoint', cpFile, '--public-key', keys.RUNLEDGER_PUBLIC_KEY];
    const before = await runledger(db.url, ['verify', ...pinned]);
    assert.equal(before.code, 0, before.stdout);
    const bundleBefore = await runledger(db.url, ['export']);
    fs.writeFileSync(path.join(dir, 'before.ndjson'), bundleBefore.stdout);
    assert.equal((await runledger('postgres://nobody@127.0.0.1:1/none', ['verify', '--file', path.join(dir, 'before.ndjson'), ...pinned])).code, 0);

    await db.pool.query(REWRITE_SQL.replaceAll('$1', '123'));
    const plain = await runledger(db.url, ['verify']);
    assert.equal(plain.code, 0, 'the re-hashed chain is internally consistent: plain verify cannot see the rewrite');

    const caught = await runledger(db.url, ['verify', ...pinned]);
    assert.equal(caught.code, 1);
    assert.match(caught.stdout, /^bad 400 the chain differs from the saved checkpoint here/);

    const bundleAfter = await runledger(db.url, ['export']);
    const file = path.join(dir, 'after.ndjson');
    fs.writeFileSync(file, bundleAfter.stdout);
    const offline = await runledger('postgres://nobody@127.0.0.1:1/none', ['verify', '--file', file, ...pinned]);
    assert.equal(offline.code, 1);
    assert.match(offline.stdout, /^bad 400 the chain differs from the saved checkpoint here/);

    // A bundle that starts after the checkpoint cannot prove anything about it.
    const late = await runledger(db.url, ['export', '--from', '420']);
    fs.writeFileSync(path.join(dir, 'late.ndjson'), late.stdout);
    const notReached = await runledger('postgres://nobody@127.0.0.1:1/none', ['verify', '--file', path.join(dir, 'late.ndjson'), ...pinned]);
    assert.equal(notReached.code, 1);
    assert.match(notReached.stdout, /does not reach the checkpoint's position 400/);
  });

  it('a forged checkpoint file is refused before any chain is walked', async () => {
    const [saved] = await listCheckpoints(db.pool, { before: 401 });
    const forged = path.join(dir, 'forged.json');
    fs.writeFileSync(forged, JSON.stringify({ ...saved, hash: '00'.repeat(32) }));
    const result = await runledger(db.url, ['verify', '--checkpoint', forged]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^bad 400 checkpoint not genuine: signature/);
  });
});
