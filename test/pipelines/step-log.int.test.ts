import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { eventToDeltas } from '../../src/projections/event-to-deltas.js';
import { read } from '../../src/ledger/read.js';
import { createJob, definePipeline, registerPipeline, type RunningWorker } from '../../src/pipelines/index.js';
import { STEP_LOG_BATCH_LINES, STEP_LOG_LINES_PER_ATTEMPT } from '../../src/pipelines/step-log.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { jobEvents, startTestWorker, untilState } from './helpers.js';

const FLOOD = STEP_LOG_LINES_PER_ATTEMPT + 250;

registerPipeline(
  definePipeline({
    name: 'chatty',
    input: z.object({}),
    steps: [
      {
        name: 'talk',
        retry: { maxAttempts: 2, backoffMs: 10, maxBackoffMs: 10 },
        handler: async (ctx) => {
          ctx.log('info', 'starting', { attempt: ctx.attempt });
          ctx.log('warn', 'cache cold');
          if (ctx.attempt === 1) {
            ctx.log('error', 'giving up on this attempt');
            throw new Error('first attempt fails');
          }
          return { ok: true };
        },
      },
      {
        name: 'flood',
        handler: async (ctx) => {
          for (let i = 0; i < FLOOD; i += 1) ctx.log('debug', `line ${i}`, { i });
          return { lines: FLOOD };
        },
      },
    ],
  }),
);

describe('step logs (ctx.log → step.log events)', () => {
  let db: TestDatabase;
  let worker: RunningWorker;
  before(async () => {
    db = await createTestDatabase();
    worker = await startTestWorker(db.url);
  });
  after(async () => {
    await worker.stop();
    await db.drop();
  });

  it('appends lines in batches per attempt, in order, before the step outcome; a flood is capped with its dropped count', async () => {
    const { jobId } = await createJob(db.pool, 'chatty', {});
    await untilState(db.pool, jobId, 'completed');
    const events = await jobEvents(db.pool, jobId);
    const logs = events.filter((e) => e.type === 'step.log');

    const talk = logs.filter((e) => e.data.step === 'talk');
    const lines = (attempt: number) =>
      talk.filter((e) => e.data.attempt === attempt).flatMap((e) => (e.data.lines as { level: string; message: string }[]).map((l) => `${l.level} ${l.message}`));
    // The failed attempt's lines stay: they are appended outside the step's transaction.
    assert.deepEqual(lines(1), ['info starting', 'warn cache cold', 'error giving up on this attempt']);
    assert.deepEqual(lines(2), ['info starting', 'warn cache cold']);
    const failed = events.find((e) => e.type === 'step.failed' && e.data.step === 'talk')!;
    const firstLog = talk.find((e) => e.data.attempt === 1)!;
    assert.ok(firstLog.position < failed.position, 'lines land before the outcome');

    const flood = logs.filter((e) => e.data.step === 'flood');
    const floodLines = flood.flatMap((e) => e.data.lines as { message: string; fields: { i: number } }[]);
    assert.equal(floodLines.length, STEP_LOG_LINES_PER_ATTEMPT);
    assert.deepEqual(floodLines.map((l) => l.fields.i), Array.from({ length: STEP_LOG_LINES_PER_ATTEMPT }, (_, i) => i));
    assert.ok(flood.every((e) => (e.data.lines as unknown[]).length <= STEP_LOG_BATCH_LINES));
    assert.equal(flood[flood.length - 1]!.data.dropped, FLOOD - STEP_LOG_LINES_PER_ATTEMPT);
    const completed = events.find((e) => e.type === 'step.completed' && e.data.step === 'flood')!;
    assert.ok(flood.every((e) => e.position < completed.position));

    // Streamed like every other event: each step.log yields a delta for its job's step.
    const [first] = await read(db.pool, { after: firstLog.position - 1, limit: 1 });
    assert.deepEqual(
      eventToDeltas(first!).map((d) => [d.entity, d.id, d.jobId]),
      [['step', `${jobId}/talk`, jobId]],
    );
  });
});
