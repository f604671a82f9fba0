import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { append } from '../../src/ledger/append.js';
import { createAppender } from '../../src/ledger/appender.js';
import { head } from '../../src/ledger/read.js';
import { readConfig } from '../../src/ops/config.js';
import { AppError } from '../../src/ops/errors.js';
import { createJob, definePipeline, registerPipeline } from '../../src/pipelines/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

registerPipeline(
  definePipeline({
    name: 'max_event_bytes',
    input: z.object({ text: z.string() }),
    steps: [{ name: 'only', handler: async () => ({}) }],
  }),
);

// RUNLEDGER_MAX_EVENT_BYTES reaches every writer: a lower setting refuses a
// larger event, naming it, and writes nothing.
describe('RUNLEDGER_MAX_EVENT_BYTES', () => {
  let db: TestDatabase;
  const { maxEventBytes } = readConfig({ RUNLEDGER_MAX_EVENT_BYTES: '2048' });
  const big = 'x'.repeat(4096);
  const refused = (error: unknown) =>
    error instanceof AppError && error.status === 413 && error.field === 'events[0]' && /exceeds the limit of 2048 bytes/.test(error.message);

  before(async () => {
    db = await createTestDatabase(4);
  });
  after(() => db.drop());

  it('reads the setting', () => {
    assert.equal(maxEventBytes, 2048);
  });

  it('createJob refuses a job.created over the limit and writes nothing; the default takes it', async () => {
    const before = await head(db.pool);
    await assert.rejects(createJob(db.pool, 'max_event_bytes', { text: big }, { maxEventBytes }), refused);
    assert.equal(await head(db.pool), before);
    const { rowCount } = await db.pool.query('select 1 from pipelines.jobs');
    assert.equal(rowCount, 0);
    await createJob(db.pool, 'max_event_bytes', { text: big });
    assert.ok((await head(db.pool)) > before);
  });

  it('append and the group-commit appender refuse it too', async () => {
    const event = { streamType: 'test', streamId: 's', type: 'test.big', data: { text: big } };
    const before = await head(db.pool);
    await assert.rejects(append(db.pool, [event], { maxEventBytes }), refused);
    await assert.rejects(createAppender(db.pool, { maxEventBytes }).append([event]), refused);
    assert.equal(await head(db.pool), before);
  });
});
