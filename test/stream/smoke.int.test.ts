import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { appendMany, range, record, startStack, type Stack } from '../helpers/stream.js';

describe('smoke', () => {
  let db: TestDatabase;
  let stack: Stack;
  before(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
  });
  after(async () => {
    await stack.close();
    await db.drop();
  });
  it('replays and goes live', async () => {
    await appendMany(db.pool, 100);
    const client = record(`${stack.url}?from=10`);
    await eventually(() => client.frames.some((f) => f.type === 'caught_up'));
    await appendMany(db.pool, 50);
    await eventually(() => client.offsets.length === 140);
    assert.deepEqual(client.offsets, range(10, 150));
    console.log(client.frames.map((f) => f.type).join(','));
    await client.close();
  });
});
