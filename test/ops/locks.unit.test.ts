import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as locks from '../../src/ops/locks.js';

const SQL_DIR = path.join(process.cwd(), 'sql');

describe('advisory lock keys', () => {
  it('every key taken in sql/ is registered in src/ops/locks.ts and listed in the one SQL comment', async () => {
    const registered = new Set<number>(Object.values(locks));
    const files = (await fs.readdir(SQL_DIR)).filter((file) => file.endsWith('.sql'));
    const sql = (await Promise.all(files.map((file) => fs.readFile(path.join(SQL_DIR, file), 'utf8')))).join('\n');
    const taken = [...sql.matchAll(/pg_(?:try_)?advisory_(?:xact_)?lock(?:_shared)?\(\s*(\d+)\s*\)/g)].map((m) => Number(m[1]));
    assert.ok(taken.length >= 2, 'the ledger append and the step starts take keys in SQL');
    for (const key of taken) assert.ok(registered.has(key), `key ${key} used in sql/ is not in src/ops/locks.ts`);
    const comment = await fs.readFile(path.join(SQL_DIR, '000001_ledger.sql'), 'utf8');
    for (const [name, value] of Object.entries(locks)) {
      if (name === 'PROJECTIONS_LOCK_SPACE') continue;
      assert.match(comment, new RegExp(`--.*\\b${name}\\b`), `${name} (${value}) is not in the lock comment of 000001_ledger.sql`);
    }
  });

  it('no two single-key locks share a value', () => {
    const single = [locks.LEDGER_APPEND_LOCK, locks.MIGRATION_LOCK, locks.PAUSE_LOCK, locks.CHECKPOINT_LOCK, locks.MODEL_SNAPSHOT_LOCK];
    assert.equal(new Set(single).size, single.length);
  });
});
