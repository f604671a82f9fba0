// What a single-event append costs beyond INSERT+NOTIFY, part by part, in
// interleaved rounds. Each round runs the floor and then every variant for
// BENCH_SECONDS (default 3) each, in turn; a variant's number is its tx/s
// over the floor of the same round, and the table gives the median of those
// ratios over BENCH_ROUNDS rounds (default 10) with their quartiles. This
// machine's floor moves by a quarter between whole runs, so three runs of
// `append` cannot tell parts of a few percent apart; rounds a few seconds
// apart can. Every variant runs with BENCH_WRITERS transactions open at once
// (default "2,8": 2 is the pool's default appendsAtOnce, 8 the writers of
// `append`):
//  - floor: INSERT into a bare table whose trigger calls pg_notify;
//  - lock_only: the same row, its NOTIFY sent from a deferred trigger that
//    first takes an ordering lock;
//  - position_record: that trigger also reads the head and writes one narrow
//    position row under the lock (the least a commit-ordered numbering writes);
//  - work_no_lock: the minimal seal's per-event work (stream lock, version
//    read, digest, a row with two unique indexes), no ordering at all;
//  - work_then_record: that work, then only the position row at commit;
//  - minimal_seal: that work, then a hashed block row at commit;
//  - append_at_commit: ledger.append_at_commit, one statement, no positions;
//  - append_pool: append(pool) from 8 callers, the pool's appendsAtOnce set
//    to the number of writers: TypeScript, the pool and the position read on
//    top of append_at_commit.
import type pg from 'pg';
import { append } from '../src/ledger/append.js';
import { createPool } from '../src/ops/pool.js';
import { closedLoop, connect } from './lib/closed-loop.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { FLOOR_SQL } from './lib/floor.js';
import { MINIMAL_SEAL_SQL } from './lib/minimal-seal.js';
import { sampleData, sampleEvent, samplePayload } from './lib/sample-event.js';
import { round } from './lib/stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const WRITER_COUNTS = (process.env.BENCH_WRITERS ?? '2,8').split(',').map(Number);
const CALLERS = 8;

const row = (table: string) => (client: pg.Client, i: number) =>
  client.query(`insert into ${table} (type, data) values ($1, $2)`, ['bench.floor', sampleData(i)]);
const call = (fn: string) => (client: pg.Client, i: number) => client.query(`select ${fn}($1::jsonb)`, [samplePayload(i)]);

const VARIANTS = {
  lock_only: row('seal.floor_locked'),
  position_record: row('seal.floor_recorded'),
  work_no_lock: call('seal.append_unordered'),
  work_then_record: call('seal.append_recorded'),
  minimal_seal: call('seal.append'),
  append_at_commit: call('ledger.append_at_commit'),
};

/** The q-quantile of `values` (nearest rank). */
const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

export default async function appendPartsBench(context: BenchContext): Promise<BenchResult> {
  const url = await context.freshDatabase('append_parts');
  const clients = await Promise.all(Array.from({ length: CALLERS }, () => connect(url)));
  await clients[0]!.query(FLOOR_SQL);
  await clients[0]!.query(MINIMAL_SEAL_SQL);
  const rows: BenchResult['rows'][number][] = [];
  const json: BenchResult['json'] = { rounds: ROUNDS, seconds_per_variant: SECONDS };
  try {
    for (const writers of WRITER_COUNTS) {
      const pool = createPool(url, CALLERS, 'runledger-bench', { appendsAtOnce: writers });
      const open = clients.slice(0, writers);
      const floors: number[] = [];
      const ratios = new Map<string, number[]>();
      for (let r = 1; r <= ROUNDS; r += 1) {
        context.log(`${writers} at once: round ${r}/${ROUNDS}`);
        const floor = await closedLoop(open, row('floor_events'), SECONDS);
        floors.push(floor);
        const measured: [string, number][] = [];
        for (const [name, op] of Object.entries(VARIANTS)) measured.push([name, await closedLoop(open, op, SECONDS)]);
        const viaPool = await closedLoop(
          clients,
          (_client, i) => append(pool, sampleEvent(i)),
          SECONDS,
        );
        measured.push(['append_pool', viaPool]);
        for (const [name, tps] of measured) ratios.set(name, [...(ratios.get(name) ?? []), tps / floor]);
      }
      await pool.end();
      json[`w${writers}_floor_tps`] = Math.round(quantile(floors, 0.5));
      const range = `${Math.round(Math.min(...floors))}–${Math.round(Math.max(...floors))}`;
      rows.push([`${writers} at once: floor INSERT+NOTIFY`, Math.round(quantile(floors, 0.5)), 'tx/s', `median of ${ROUNDS} rounds; ${range}`]);
      for (const [name, values] of ratios) {
        json[`w${writers}_${name}_ratio`] = round(quantile(values, 0.5), 3);
        const quartiles = `quartiles ${round(quantile(values, 0.25), 3)}–${round(quantile(values, 0.75), 3)}`;
        rows.push([`${writers} at once: ${name}`, round(quantile(values, 0.5), 3), 'x floor', quartiles]);
      }
    }
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
  return { rows, json };
}
