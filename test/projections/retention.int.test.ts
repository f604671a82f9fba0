import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { head, read } from '../../src/ledger/read.js';
import { createLogger } from '../../src/ops/logger.js';
import { archiveFinished } from '../../src/pipelines/archive-finished.js';
import type { Delta } from '../../src/projections/delta.js';
import { eventToDeltas } from '../../src/projections/event-to-deltas.js';
import type { JobRow, Snapshot } from '../../src/projections/model.js';
import { getJob } from '../../src/projections/queries/get-job.js';
import { listJobs, type ListJobsFilter, type ListedJob } from '../../src/projections/queries/list-jobs.js';
import { modelAt, rebuild } from '../../src/projections/rebuild.js';
import { applyDeltas, matchesSlice, type Slice } from '../../src/projections/reducer.js';
import { snapshot } from '../../src/projections/snapshot.js';
import { readModel } from '../../src/projections/tables.js';
import type { TestDatabase } from '../helpers/database.js';
import { checkpointOf, demoSource, dumpTables, projectedDatabase } from './helpers.js';

const logger = createLogger('silent');
const FINISHED = ['completed', 'failed', 'cancelled'];
const HOUR = 3_600_000;

async function deltasBetween(db: TestDatabase, from: number, to: number): Promise<Delta[]> {
  const deltas: Delta[] = [];
  for (let after = from; after < to; ) {
    const events = await read(db.pool, { after, until: to, limit: 1000 });
    for (const event of events) deltas.push(...eventToDeltas(event));
    after = events[events.length - 1]!.position;
  }
  return deltas;
}

async function listAll(db: TestDatabase, filter: ListJobsFilter): Promise<ListedJob[]> {
  const jobs: ListedJob[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages += 1) {
    const page = await listJobs(db.pool, { ...filter, cursor });
    jobs.push(...page.jobs);
    if (page.nextCursor === null) return jobs;
    cursor = page.nextCursor;
  }
  throw new Error('listJobs never ended');
}

const finishedOf = (jobs: Record<string, JobRow>) => Object.values(jobs).filter((job) => FINISHED.includes(job.status));

describe('read-model retention', () => {
  const fixture = projectedDatabase(100);

  it('archives finished jobs beyond the limits by ledger events, in batches; snapshots drop them; queries still answer; rebuild equals incremental, live and archive', async () => {
    // An "old" ledger: thousands of events and no job.archived yet.
    await demoSource({ seed: 5 })(fixture.db.pool, 3000, 250);
    await fixture.projector.caughtUp();
    const start = await snapshot(fixture.db.pool);
    const allJobs = Object.values(start.model.jobs);
    const finished = finishedOf(start.model.jobs);
    assert.ok(finished.length > 40, `the demo finished jobs (${finished.length})`);

    // The backlog: at most 10 finished jobs stay, the rest go in batches of 7.
    const first = await archiveFinished(fixture.db.pool, { retainFinishedMs: HOUR, retainMaxJobs: 10 }, { batchSize: 7 });
    assert.deepEqual(first, { archived: finished.length - 10 });
    const archivedEvents = await read(fixture.db.pool, { after: start.offset, types: ['job.archived'], limit: 10_000 });
    assert.equal(archivedEvents.length, finished.length - 10);
    const byAppend = new Map<string, number>();
    for (const event of archivedEvents) byAppend.set(event.recordedAt, (byAppend.get(event.recordedAt) ?? 0) + 1);
    assert.ok([...byAppend.values()].every((n) => n <= 7) && byAppend.size >= Math.ceil(archivedEvents.length / 7), 'appended in batches of 7');
    const archivedIds = new Set(archivedEvents.map((event) => event.data.jobId as string));
    assert.equal(archivedIds.size, archivedEvents.length, 'each job archived once');

    await fixture.projector.caughtUp();
    const afterFirst = await snapshot(fixture.db.pool);
    const kept = finishedOf(afterFirst.model.jobs);
    assert.equal(kept.length, 10);
    const newestArchived = Math.max(...[...archivedIds].map((id) => Date.parse(start.model.jobs[id]!.finishedAt!)));
    assert.ok(kept.every((job) => Date.parse(job.finishedAt!) >= newestArchived), 'the oldest finished jobs went first');
    for (const id of archivedIds) {
      assert.equal(afterFirst.model.jobs[id], undefined, `job ${id} left the snapshot`);
      assert.ok(!Object.values(afterFirst.model.steps).some((step) => step.jobId === id), `the steps of ${id} left the snapshot`);
    }
    for (const job of allJobs) if (!FINISHED.includes(job.status)) assert.ok(afterFirst.model.jobs[job.id], `active job ${job.id} stays`);
    // All-time aggregates are not touched by archiving.
    assert.deepStrictEqual(
      Object.fromEntries(Object.entries(afterFirst.model.stats).filter(([id]) => id.startsWith('jobs/') || id.startsWith('durations/'))),
      Object.fromEntries(Object.entries(start.model.stats).filter(([id]) => id.startsWith('jobs/') || id.startsWith('durations/'))),
    );

    // One job, archived: the same row and steps as when it was live, and its whole timeline.
    const someId = [...archivedIds][3]!;
    const detail = await getJob(fixture.db.pool, { jobId: someId });
    assert.ok(detail);
    assert.equal(detail.archived, true);
    assert.deepStrictEqual(detail.job, start.model.jobs[someId]);
    const liveSteps = Object.values(start.model.steps).filter((step) => step.jobId === someId);
    assert.deepStrictEqual(detail.steps, liveSteps.sort((a, b) => detail.job.steps.indexOf(a.step) - detail.job.steps.indexOf(b.step)));
    assert.equal(detail.timeline.at(-1)!.type, 'job.archived');
    assert.equal(detail.timeline[0]!.type, 'job.created');
    const liveOne = (await getJob(fixture.db.pool, { jobId: kept[0]!.id }))!;
    assert.equal(liveOne.archived, false);
    assert.deepStrictEqual(liveOne.job, afterFirst.model.jobs[kept[0]!.id]);
    assert.equal(await getJob(fixture.db.pool, { jobId: 'no-such-job' }), undefined);

    // Lists page through live and archive together, newest first, each job once.
    const listed = await listAll(fixture.db, { limit: 13 });
    assert.equal(listed.length, allJobs.length);
    assert.equal(new Set(listed.map((job) => job.id)).size, listed.length);
    assert.ok(listed.every((job, i) => i === 0 || job.createdOffset! < listed[i - 1]!.createdOffset!), 'newest first');
    assert.ok(listed.every((job) => job.archived === archivedIds.has(job.id)));
    const archivedOnly = await listAll(fixture.db, { scope: 'archive', limit: 50 });
    assert.deepEqual(new Set(archivedOnly.map((job) => job.id)), archivedIds);
    const failedVideo = await listAll(fixture.db, { status: ['failed', 'cancelled'], pipeline: 'video_clip' });
    const expected = allJobs.filter((job) => ['failed', 'cancelled'].includes(job.status) && job.pipeline === 'video_clip');
    assert.deepEqual(new Set(failedVideo.map((job) => job.id)), new Set(expected.map((job) => job.id)));
    assert.ok(expected.length > 0);
    const high = await listAll(fixture.db, { priority: 'high', limit: 500 });
    assert.deepEqual(new Set(high.map((job) => job.id)), new Set(allJobs.filter((job) => job.priority === 'high').map((job) => job.id)));
    const middle = listed[Math.floor(listed.length / 2)]!.createdAt!;
    const older = await listAll(fixture.db, { createdBefore: middle, limit: 500 });
    assert.ok(older.length > 0 && older.every((job) => job.createdAt! < middle));
    // Text in the input: the demo's input is {"url": "https://example.test/<jobId>"}.
    const search = await listJobs(fixture.db.pool, { q: `EXAMPLE.test/${someId}"` });
    assert.deepEqual(search.jobs.map((job) => job.id), [someId]);
    // A search examines at most `searchScan` jobs per call and hands back a cursor to go on.
    const oldest = listed.at(-1)!;
    let found: ListedJob[] = [];
    let cursor: string | undefined;
    let calls = 0;
    do {
      const page = await listJobs(fixture.db.pool, { q: `/${oldest.id}"`, searchScan: 20, cursor });
      found = found.concat(page.jobs);
      cursor = page.nextCursor ?? undefined;
      calls += 1;
    } while (cursor !== undefined);
    assert.deepEqual(found.map((job) => job.id), [oldest.id]);
    assert.ok(calls >= Math.floor(allJobs.length / 20), `the search went on in ${calls} calls`);
    await assert.rejects(listJobs(fixture.db.pool, { status: 'exploded' as never }), { status: 400, field: 'status' });
    await assert.rejects(listJobs(fixture.db.pool, { limit: 0 }), { field: 'limit' });
    await assert.rejects(listJobs(fixture.db.pool, { cursor: 'nope' }), { field: 'cursor' });
    await assert.rejects(listJobs(fixture.db.pool, { createdAfter: 'yesterday' }), { field: 'createdAfter' });

    // Past the time limit: every finished job goes; a run with nothing to do appends nothing.
    assert.deepEqual(await archiveFinished(fixture.db.pool, { retainFinishedMs: 0, retainMaxJobs: 1000 }), { archived: 10 });
    const headBefore = await head(fixture.db.pool);
    assert.deepEqual(await archiveFinished(fixture.db.pool, { retainFinishedMs: 0, retainMaxJobs: 1000 }), { archived: 0 });
    assert.equal(await head(fixture.db.pool), headBefore);
    await fixture.projector.caughtUp();
    assert.equal(finishedOf((await snapshot(fixture.db.pool)).model.jobs).length, 0);

    // Rebuild from 0 (streaming archived jobs out as it passes their job.archived) equals the incremental tables.
    const incremental = await dumpTables(fixture.db.pool);
    assert.equal(incremental.archive_jobs!.length, finished.length);
    const incrementalModel = await readModel(fixture.db.pool);
    await rebuild(fixture.db.pool, { logger, pageSize: 400, flushEvents: 900 });
    assert.deepStrictEqual(await dumpTables(fixture.db.pool), incremental);
    assert.deepStrictEqual((await modelAt(fixture.db.pool)).model, incrementalModel);
    assert.equal(await checkpointOf(fixture.db.pool), await head(fixture.db.pool));
  });

});

// A database of its own: the demo's job ids start at job-1 again.
describe('read-model retention: invariant 5', () => {
  const fixture = projectedDatabase(100);

  it('snapshot(N) + deltas(N..M) equals snapshot(M) over a ledger that crosses several archive runs', async () => {
    const appendDemo = demoSource({ seed: 6 });
    const slices: Slice[] = [{}, { pipeline: 'video_clip' }, { pipeline: 'content_agents' }];
    const stages: Snapshot[][] = [];
    for (const size of [500, 700, 300, 900]) {
      await appendDemo(fixture.db.pool, size, 60);
      await fixture.projector.caughtUp();
      stages.push(await Promise.all(slices.map((slice) => snapshot(fixture.db.pool, slice))));
      const run = await archiveFinished(fixture.db.pool, { retainFinishedMs: HOUR, retainMaxJobs: 4 }, { batchSize: 5 });
      assert.ok(run.archived > 0);
      await fixture.projector.caughtUp();
    }
    const last = await Promise.all(slices.map((slice) => snapshot(fixture.db.pool, slice)));
    // Jobs live at the first stage were archived since: the deltas below remove them.
    assert.ok(Object.keys(stages[0]![0]!.model.jobs).some((id) => last[0]!.model.jobs[id] === undefined));
    for (const stage of stages) {
      const deltas = await deltasBetween(fixture.db, stage[0]!.offset, last[0]!.offset);
      slices.forEach((slice, s) => {
        const reduced = applyDeltas(structuredClone(stage[s]!.model), deltas.filter((delta) => matchesSlice(delta, slice)));
        assert.deepStrictEqual(reduced, last[s]!.model, `slice ${JSON.stringify(slice)} from ${stage[s]!.offset}`);
      });
      assert.deepStrictEqual((await modelAt(fixture.db.pool, stage[0]!.offset)).model, stage[0]!.model);
    }
    // The live window stays small while the ledger grows.
    assert.ok(finishedOf(last[0]!.model.jobs).length <= 4);
  });
});
