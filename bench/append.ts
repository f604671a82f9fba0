// Append throughput against the raw floor of the same run:
//  - floor: a bare table whose INSERT trigger calls pg_notify, 8 writers of
//    single-row transactions, and the INSERT+NOTIFY -> LISTEN round trip;
//  - runledger: single-event appends with 8 writers, each its own transaction
//    (2 open at once, the pool's default appendsAtOnce; and all 8 at once,
//    beside the floor from 2 writers); the same through the group-commit
//    appender (8 callers, one pool); then
//    batched appends, beside a bulk INSERT of the same rows, and the same
//    rows into a copy of ledger.bodies (the table's shape, none of its work);
//  - where the rest goes (../shared/experiments/seal-at-commit.mjs, ported):
//    INSERT+NOTIFY with the append's payload; a minimal seal at commit
//    (single-stream, bodies + one block row); the same per-event work with only
//    the least position record at commit, and with no ordering lock at all;
//    ledger.append_at_commit as one statement; and the lock alone: the
//    floor's row with its NOTIFY from a deferred trigger, without and with the
//    ordering lock taken there, and with the least position record written
//    under it.
import pg from 'pg';
import { append, literal } from '../src/ledger/append.js';
import { createAppender } from '../src/ledger/appender.js';
import { createPool } from '../src/ops/pool.js';
import type { NewEvent } from '../src/ledger/types.js';
import { closedLoop as loopFor, connect } from './lib/closed-loop.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { notifyRoundTrip } from './lib/floor.js';
import { sampleData, sampleEvent, samplePayload } from './lib/sample-event.js';
import { MINIMAL_SEAL_SQL } from './lib/minimal-seal.js';
import { round } from './lib/stats.js';

const WRITERS = 8;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BATCH = 1000;
const BATCH_WRITERS = 2;

const closedLoop = (clients: pg.Client[], op: (client: pg.Client, i: number) => Promise<unknown>) => loopFor(clients, op, SECONDS);


export default async function appendBench(context: BenchContext): Promise<BenchResult> {
  const url = await context.freshDatabase('append');
  const clients = await Promise.all(Array.from({ length: WRITERS }, () => connect(url)));

  context.log(`floor: NOTIFY round trip at 500 events/s for ${SECONDS}s`);
  const rtt = await notifyRoundTrip(url, 500, SECONDS); // creates floor_events

  // The floor's transaction, one INSERT into a bare table, into `table`.
  const floorRowsInto = (table: string, writers = clients) =>
    closedLoop(writers, (client, i) => client.query(`insert into ${table} (type, data) values ($1, $2)`, ['bench.floor', sampleData(i)]));
  context.log(`floor: INSERT + NOTIFY trigger, ${WRITERS} writers, ${SECONDS}s`);
  const floorTps = await floorRowsInto('floor_events');

  // append(pool): its own transaction, sealed at its COMMIT, positions
  // returned, one round trip (src/ledger/append.ts).
  context.log(`runledger: single-event appends, ${WRITERS} writers, ${SECONDS}s (the pool's default appendsAtOnce: 2 at once)`);
  const writersPool = createPool(url, WRITERS, 'runledger-bench');
  const singleTps = await closedLoop(clients, (_client, i) => append(writersPool, sampleEvent(i)));
  await writersPool.end();
  // How far apart consecutive seals were under those 8 writers: the length
  // of the serialised section (ordering lock -> commit visible -> next
  // sealer holds the lock), beside the floor's 1 / tx/s per commit.
  const { rows: gaps } = await clients[0]!.query<{ p10: number; p50: number }>(
    `select percentile_cont(0.1) within group (order by us) as p10, percentile_cont(0.5) within group (order by us) as p50
       from (select extract(epoch from sealed_at - lag(sealed_at) over (order by last_position)) * 1e6 as us
               from ledger.blocks) gaps`,
  );
  // The same 8 callers with all 8 transactions open at once (the pool's
  // appendsAtOnce raised to 8, as before the fifth pass): what the gate buys.
  // And the floor's transaction from 2 of the writers, the same comparison
  // on its side.
  context.log(`runledger: single-event appends, ${WRITERS} writers, all ${WRITERS} at once, ${SECONDS}s`);
  const allAtOncePool = createPool(url, WRITERS, 'runledger-bench', { appendsAtOnce: WRITERS });
  const allAtOnceTps = await closedLoop(clients, (_client, i) => append(allAtOncePool, sampleEvent(i)));
  await allAtOncePool.end();
  context.log(`floor: INSERT + NOTIFY trigger, 2 writers, ${SECONDS}s`);
  const floorTwoTps = await floorRowsInto('floor_events', clients.slice(0, 2));
  // The SQL interface other languages use: sealed at once, positions returned.
  context.log(`runledger: ledger.append() as one statement, ${WRITERS} writers, ${SECONDS}s`);
  const sqlAppendTps = await closedLoop(clients, (client, i) =>
    append(client, sampleEvent(i)),
  );

  // The experiment's rows: what an append costs beyond INSERT+NOTIFY, part by part.
  await clients[0]!.query(MINIMAL_SEAL_SQL);
  context.log(`experiment: INSERT+NOTIFY of the append's whole payload, ${WRITERS} writers, ${SECONDS}s`);
  const floorPayloadTps = await closedLoop(clients, (client, i) =>
    client.query('insert into floor_events (type, data) values ($1, $2::jsonb)', ['bench.floor', samplePayload(i)]),
  );
  context.log(`experiment: the floor's INSERT, NOTIFY from a deferred trigger, ${WRITERS} writers, ${SECONDS}s`);
  const deferredNotifyTps = await floorRowsInto('seal.floor_deferred');
  context.log(`experiment: the same, the deferred trigger taking the ordering lock first, ${WRITERS} writers, ${SECONDS}s`);
  const lockOnlyTps = await floorRowsInto('seal.floor_locked');
  context.log(`experiment: the same, the locked trigger also recording a position (head read + one narrow row), ${WRITERS} writers, ${SECONDS}s`);
  const recordedTps = await floorRowsInto('seal.floor_recorded');
  context.log(`experiment: minimal seal at commit, ${WRITERS} writers, ${SECONDS}s`);
  const minimalSealTps = await closedLoop(clients, (client, i) => client.query('select seal.append($1::jsonb)', [samplePayload(i)]));
  context.log(`experiment: the same per-event work, then only the least position record at commit, ${WRITERS} writers, ${SECONDS}s`);
  const workRecordedTps = await closedLoop(clients, (client, i) => client.query('select seal.append_recorded($1::jsonb)', [samplePayload(i)]));
  context.log(`experiment: the same per-event work, no ordering lock, ${WRITERS} writers, ${SECONDS}s`);
  const noLockTps = await closedLoop(clients, (client, i) => client.query('select seal.append_unordered($1::jsonb)', [samplePayload(i)]));
  context.log(`experiment: ledger.append_at_commit as one statement, ${WRITERS} writers, ${SECONDS}s`);
  const atCommitTps = await closedLoop(clients, (client, i) => client.query('select ledger.append_at_commit($1::jsonb)', [samplePayload(i)]));

  context.log(`runledger: single-event appends through the group-commit appender, ${WRITERS} callers, ${SECONDS}s`);
  const pool = createPool(url, 4, 'runledger-bench');
  const appender = createAppender(pool);
  const coalescedTps = await closedLoop(clients, (_client, i) =>
    appender.append(sampleEvent(i)),
  );
  await pool.end();

  context.log(`runledger: batches of ${BATCH}, ${BATCH_WRITERS} writers, ${SECONDS}s`);
  const batches = Array.from({ length: 8 }, (_, b): NewEvent[] =>
    Array.from({ length: BATCH }, (_, i) => ({
      streamType: 'job',
      streamId: `job-${b}-${i % 50}`,
      type: 'step.progress',
      data: sampleData(i),
    })),
  );
  const batchesPerSecond = await closedLoop(clients.slice(0, BATCH_WRITERS), (client, i) =>
    append(client, batches[i % batches.length]!),
  );
  // The batch floor: the same 1,000 events' JSON inserted as rows of a bare
  // table (a primary key, no trigger) in one statement, then one NOTIFY.
  context.log(`floor: bulk INSERT of ${BATCH} rows + one NOTIFY, ${BATCH_WRITERS} writers, ${SECONDS}s`);
  await clients[0]!.query('create table floor_bulk (id bigserial primary key, stream_id text not null, type text not null, data jsonb not null)');
  const batchPayloads = batches.map((batch) => JSON.stringify(batch));
  const floorBatchesPerSecond = await closedLoop(clients.slice(0, BATCH_WRITERS), (client, i) =>
    client.query(
      `insert into floor_bulk (stream_id, type, data) select e->>'streamId', e->>'type', e->'data'
         from jsonb_array_elements(${literal(batchPayloads[i % batchPayloads.length]!)}::jsonb) e;
       select pg_notify('floor', 'bulk')`,
    ),
  );
  // The ledger's own table shape, none of its work: the same rows into a
  // copy of ledger.bodies (its columns, check constraints and both unique
  // indexes, no trigger), versions from a sequence, a constant digest, no
  // version look-up, no hash, no seal.
  context.log(`experiment: bulk INSERT of ${BATCH} rows into a copy of ledger.bodies + one NOTIFY, ${BATCH_WRITERS} writers, ${SECONDS}s`);
  await clients[0]!.query(`create table floor_bodies (like ledger.bodies including defaults including constraints including indexes);
    create sequence floor_blocks; create sequence floor_versions`);
  const shapedBatchesPerSecond = await closedLoop(clients.slice(0, BATCH_WRITERS), (client, i) =>
    client.query(
      `insert into floor_bodies (block_id, ordinal, stream_type, stream_id, stream_version, type, data, digest)
       select b.id, t.n, e->>'streamType', e->>'streamId', nextval('floor_versions'), e->>'type', e->'data', '\\x00'
         from (select nextval('floor_blocks') as id) b,
              jsonb_array_elements(${literal(batchPayloads[i % batchPayloads.length]!)}::jsonb) with ordinality t(e, n);
       select pg_notify('floor', 'bulk')`,
    ),
  );
  await Promise.all(clients.map((client) => client.end()));

  const json = {
    floor_notify_rtt_p50_ms: rtt.p(50),
    floor_notify_rtt_p99_ms: rtt.p(99),
    floor_insert_notify_tps: Math.round(floorTps),
    append_single_tps: Math.round(singleTps),
    append_single_ratio: round(singleTps / floorTps, 3),
    append_single_all_at_once_tps: Math.round(allAtOnceTps),
    append_single_all_at_once_ratio: round(allAtOnceTps / floorTps, 3),
    floor_two_writers_tps: Math.round(floorTwoTps),
    seal_gap_p10_us: Math.round(gaps[0]!.p10),
    seal_gap_p50_us: Math.round(gaps[0]!.p50),
    floor_us_per_commit: Math.round(1e6 / floorTps),
    append_grouped_eps: Math.round(coalescedTps),
    append_grouped_ratio: round(coalescedTps / floorTps, 3),
    append_batch_eps: Math.round(batchesPerSecond * BATCH),
    floor_bulk_insert_rows_per_s: Math.round(floorBatchesPerSecond * BATCH),
    bodies_shape_rows_per_s: Math.round(shapedBatchesPerSecond * BATCH),
    floor_same_payload_tps: Math.round(floorPayloadTps),
    deferred_notify_tps: Math.round(deferredNotifyTps),
    deferred_notify_ratio: round(deferredNotifyTps / floorTps, 3),
    lock_only_tps: Math.round(lockOnlyTps),
    lock_only_ratio: round(lockOnlyTps / floorTps, 3),
    position_record_tps: Math.round(recordedTps),
    position_record_ratio: round(recordedTps / floorTps, 3),
    minimal_seal_tps: Math.round(minimalSealTps),
    minimal_seal_ratio: round(minimalSealTps / floorTps, 3),
    work_then_position_record_tps: Math.round(workRecordedTps),
    work_then_position_record_ratio: round(workRecordedTps / floorTps, 3),
    same_work_no_order_lock_tps: Math.round(noLockTps),
    same_work_no_order_lock_ratio: round(noLockTps / floorTps, 3),
    append_at_commit_tps: Math.round(atCommitTps),
    append_at_commit_ratio: round(atCommitTps / floorTps, 3),
    sql_append_tps: Math.round(sqlAppendTps),
    sql_append_ratio: round(sqlAppendTps / floorTps, 3),
  };
  return {
    rows: [
      ['floor: INSERT+NOTIFY -> LISTEN p50', json.floor_notify_rtt_p50_ms, 'ms', '500 events/s open loop'],
      ['floor: INSERT+NOTIFY -> LISTEN p99', json.floor_notify_rtt_p99_ms, 'ms'],
      ['floor: INSERT+NOTIFY commits', json.floor_insert_notify_tps, 'tx/s', `${WRITERS} writers`],
      ['append, single event', json.append_single_tps, 'tx/s', `${WRITERS} writers, append(pool), 2 transactions at once, sealed at commit`],
      ['append single / floor', json.append_single_ratio, 'x', 'target >= 0.9'],
      ['append, single event, all 8 at once', json.append_single_all_at_once_tps, 'tx/s', `${json.append_single_all_at_once_ratio}x floor; appendsAtOnce: ${WRITERS}`],
      ['floor: INSERT+NOTIFY commits, 2 writers', json.floor_two_writers_tps, 'tx/s', 'the floor with 2 transactions open'],
      ['consecutive seals apart, p10', json.seal_gap_p10_us, 'us', `floor: ${json.floor_us_per_commit} us per commit`],
      ['consecutive seals apart, p50', json.seal_gap_p50_us, 'us'],
      ['append, single events, group commit', json.append_grouped_eps, 'events/s', `${WRITERS} callers, createAppender()`],
      ['group commit / floor', json.append_grouped_ratio, 'x', 'events/s against the floor\'s tx/s'],
      [`floor: bulk INSERT, ${BATCH} rows a statement`, json.floor_bulk_insert_rows_per_s, 'rows/s', `${BATCH_WRITERS} writers, + one NOTIFY`],
      [`append, batches of ${BATCH}`, json.append_batch_eps, 'events/s', `${BATCH_WRITERS} writers; target >= 150,000`],
      [`experiment: bulk INSERT into a copy of ledger.bodies`, json.bodies_shape_rows_per_s, 'rows/s', 'its constraints and two unique indexes; no versions, digest or seal'],
      ['experiment: INSERT+NOTIFY, append payload', json.floor_same_payload_tps, 'tx/s', `${WRITERS} writers`],
      ['experiment: floor row, NOTIFY from a deferred trigger', json.deferred_notify_tps, 'tx/s', `${json.deferred_notify_ratio}x floor`],
      ['experiment: the same + ordering lock, nothing else', json.lock_only_tps, 'tx/s', `${json.lock_only_ratio}x floor`],
      ['experiment: the same + a position row under it', json.position_record_tps, 'tx/s', `${json.position_record_ratio}x floor; head read + one primary-key insert`],
      ['experiment: minimal seal at commit', json.minimal_seal_tps, 'tx/s', `${json.minimal_seal_ratio}x floor`],
      ['experiment: same work, then only a position row under the lock', json.work_then_position_record_tps, 'tx/s', `${json.work_then_position_record_ratio}x floor`],
      ['experiment: same work, no ordering lock', json.same_work_no_order_lock_tps, 'tx/s', `${json.same_work_no_order_lock_ratio}x floor`],
      ['ledger.append_at_commit, one statement', json.append_at_commit_tps, 'tx/s', `${json.append_at_commit_ratio}x floor`],
      ['ledger.append (SQL interface), one statement', json.sql_append_tps, 'tx/s', `${json.sql_append_ratio}x floor; sealed at once`],
    ],
    json,
  };
}
