// Auditors' numbers over a demo-shaped ledger (default 1,000,000 events;
// BENCH_AUDIT_EVENTS for a quicker run): verify against the database and
// offline from an export file, the export rate beside the floor of the same
// run (a plain COPY ... TO STDOUT of the same rows), the export's memory, and
// the read model as of random offsets (stored snapshot + at most K events).
import fs from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { to as copyTo } from 'pg-copy-streams';
import { exportBundle } from '../src/audit/export.js';
import { verifyBundle } from '../src/audit/verify-file.js';
import { verify } from '../src/ledger/verify.js';
import { createPool } from '../src/ops/pool.js';
import { modelAsOf } from '../src/projections/model-at.js';
import { takeDueSnapshots } from '../src/projections/model-snapshots.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { appendDemoEvents, demoEvents } from './lib/demo-events.js';
import { Latencies, round } from './lib/stats.js';

const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const K = Number(process.env.BENCH_AUDIT_SNAPSHOT_EVERY ?? 10_000);
const ASOF_SAMPLES = 100;

export default async function auditBench(context: BenchContext): Promise<BenchResult> {
  const url = await context.freshDatabase('audit');
  const pool = createPool(url, 4, 'runledger-bench');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runledger-bench-audit-'));
  const file = path.join(dir, 'ledger.ndjson');
  try {
    context.log(`appending ${EVENTS} demo events in batches of 1000`);
    await appendDemoEvents(pool, demoEvents({ seed: 1 }), EVENTS, 1000);
    await pool.query('vacuum analyze ledger.bodies, ledger.blocks');

    context.log('verify against the database');
    let started = performance.now();
    const fromDb = await verify(pool);
    const verifyDbSeconds = (performance.now() - started) / 1000;
    if (!fromDb.ok || fromDb.count !== EVENTS) throw new Error(`verify: ${JSON.stringify(fromDb)}`);
    context.log(`  ${Math.round(EVENTS / verifyDbSeconds)} events/s`);

    context.log('floor: COPY (the same rows) TO STDOUT, discarded');
    started = performance.now();
    let copyBytes = 0;
    const client = await pool.connect();
    try {
      const copy = client.query(copyTo(
        `copy (select position, stream_type, stream_id, stream_version, type, recorded_at, metadata, data, prev_hash, hash,
                       digest, block_first, block_last, hash_scheme
                 from ledger.events_between(0)) to stdout`,
      ));
      for await (const chunk of copy) copyBytes += (chunk as Buffer).length;
    } finally {
      client.release();
    }
    const copySeconds = (performance.now() - started) / 1000;
    context.log(`  ${Math.round(EVENTS / copySeconds)} events/s`);

    context.log('export to a file (runledger export)');
    const rssBefore = process.memoryUsage().rss;
    let rssMax = rssBefore;
    started = performance.now();
    const out = fs.createWriteStream(file);
    let chunks = 0;
    for await (const chunk of await exportBundle(pool)) {
      if (!out.write(chunk)) await once(out, 'drain');
      if (++chunks % 10 === 0) rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
    out.end();
    await once(out, 'finish');
    const exportSeconds = (performance.now() - started) / 1000;
    const exportBytes = fs.statSync(file).size;
    context.log(`  ${Math.round(EVENTS / exportSeconds)} events/s, RSS +${Math.round((rssMax - rssBefore) / 1e6)} MB`);

    context.log('verify the file offline (no database)');
    started = performance.now();
    const fromFile = await verifyBundle(fs.createReadStream(file), { expectHead: fromDb.headHash });
    const verifyFileSeconds = (performance.now() - started) / 1000;
    if (!fromFile.ok) throw new Error(`verify --file: ${JSON.stringify(fromFile)}`);
    context.log(`  ${Math.round(EVENTS / verifyFileSeconds)} events/s`);

    context.log(`model snapshots every ${K} events`);
    started = performance.now();
    const taken = await takeDueSnapshots(pool, { every: K, keep: 0 });
    const snapshotSeconds = (performance.now() - started) / 1000;
    context.log(`  ${taken.length} in ${Math.round(snapshotSeconds)} s`);
    const { rows: sizes } = await pool.query<{ bytes: string }>('select coalesce(max(length(model)), 0) as bytes from runledger.model_snapshots');

    context.log(`as-of-N at ${ASOF_SAMPLES} random offsets (model + its JSON, as the endpoint sends it)`);
    const latencies = new Latencies();
    let state = 12345;
    const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let sample = 0; sample < ASOF_SAMPLES; sample += 1) {
      const n = 1 + Math.floor(random() * EVENTS);
      const at = performance.now();
      const result = await modelAsOf(pool, n);
      JSON.stringify({ offset: result.offset, model: result.model });
      latencies.record(performance.now() - at);
    }

    const json = {
      events: EVENTS,
      verify_db_eps: Math.round(EVENTS / verifyDbSeconds),
      verify_file_eps: Math.round(EVENTS / verifyFileSeconds),
      export_eps: Math.round(EVENTS / exportSeconds),
      export_mb_s: round(exportBytes / 1e6 / exportSeconds, 1),
      floor_copy_eps: Math.round(EVENTS / copySeconds),
      floor_copy_mb_s: round(copyBytes / 1e6 / copySeconds, 1),
      export_ratio: round(copySeconds / exportSeconds, 3),
      export_mb: round(exportBytes / 1e6, 1),
      export_rss_growth_mb: round((rssMax - rssBefore) / 1e6, 1),
      snapshot_every: K,
      snapshots: taken.length,
      snapshot_seconds: round(snapshotSeconds, 1),
      snapshot_max_kb: Math.round(Number(sizes[0]!.bytes) / 1000),
      asof_p50_ms: latencies.p(50),
      asof_p99_ms: latencies.p(99),
      cpus: os.cpus().length,
    };
    return {
      rows: [
        ['verify against the database', json.verify_db_eps, 'events/s', `${EVENTS} events`],
        ['verify --file (no database)', json.verify_file_eps, 'events/s', 'target >= 200,000'],
        ['floor: COPY ... TO STDOUT', json.floor_copy_eps, 'events/s', `${json.floor_copy_mb_s} MB/s, same rows, same run`],
        ['export (NDJSON bundle to a file)', json.export_eps, 'events/s', `${json.export_mb_s} MB/s, ${json.export_mb} MB`],
        ['export / floor', json.export_ratio, 'x', 'of the COPY rate'],
        ['export RSS growth', json.export_rss_growth_mb, 'MB', 'max during the export'],
        [`model snapshots (every ${K})`, json.snapshot_seconds, 's', `${json.snapshots} taken, largest ${json.snapshot_max_kb} kB gzip'd`],
        ['as-of-N p50', json.asof_p50_ms, 'ms', `${ASOF_SAMPLES} random N`],
        ['as-of-N p99', json.asof_p99_ms, 'ms', 'target <= 200'],
      ],
      json,
    };
  } finally {
    await pool.end();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
