import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import WebSocket from 'ws';
import { append } from '../../src/ledger/append.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';

interface Readiness {
  status: string;
  reasons: string[];
  checks: Record<string, { status: string; reason?: string }>;
}

async function ready(server: ServeProcess): Promise<{ code: number; body: Readiness }> {
  const response = await fetch(`http://127.0.0.1:${server.httpPort}/health/ready`);
  return { code: response.status, body: (await response.json()) as Readiness };
}

async function metricValue(server: ServeProcess, line: RegExp, token?: string): Promise<number | undefined> {
  const response = await fetch(`http://127.0.0.1:${server.httpPort}/metrics`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200);
  const match = line.exec(await response.text());
  return match ? Number(match[1]) : undefined;
}

/** Runs `sql` on the server's maintenance database (the test database cannot change its own connection rules). */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('/health/live, /health/ready and /metrics of serve processes', () => {
  const METRICS_TOKEN = 'metrics-secret';
  let db: TestDatabase;
  let leader: ServeProcess;
  let standby: ServeProcess;
  let name: string;

  before(async () => {
    db = await createTestDatabase(2);
    name = new URL(db.url).pathname.slice(1);
    leader = await spawnServe(db.url);
    // The first start rebuilds the read model; ready once the leader's projector follows the ledger.
    await eventually(async () => (await ready(leader)).body.status === 'ok', 60_000, 'the leader to be ready');
    standby = await spawnServe(db.url, { RUNLEDGER_READY_MAX_LAG_SECONDS: '1', RUNLEDGER_METRICS_TOKEN: METRICS_TOKEN });
  });

  after(async () => {
    if (leader) {
      leader.child.kill('SIGCONT');
      await leader.stop();
    }
    await standby?.stop();
    await admin(`alter database ${name} allow_connections true`).catch(() => {});
    await db?.drop();
  });

  it('answers live and ready with every check ok', async () => {
    const live = await fetch(`http://127.0.0.1:${standby.httpPort}/health/live`);
    assert.equal(live.status, 200);
    assert.equal(((await live.json()) as { status: string }).status, 'ok');
    const { code, body } = await ready(standby);
    assert.equal(code, 200);
    assert.equal(body.status, 'ok', JSON.stringify(body));
    assert.deepEqual(Object.keys(body.checks).sort(), ['database', 'listener', 'memory', 'projection', 'streamServer']);
    assert.deepEqual(body.reasons, []);
  });

  it('protects /metrics with RUNLEDGER_METRICS_TOKEN and names the leading projector', async () => {
    const refused = await fetch(`http://127.0.0.1:${standby.httpPort}/metrics`);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.match(await refused.text(), /"token"/);
    const json = await fetch(`http://127.0.0.1:${standby.httpPort}/metrics/json`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(json.status, 200);
    const names = ((await json.json()) as { name: string }[]).map((metric) => metric.name);
    assert.ok(names.includes('runledger_ledger_head_position'));
    assert.equal(await metricValue(standby, /^runledger_projector_leader (\S+)$/m, METRICS_TOKEN), 0);
    assert.equal(await metricValue(leader, /^runledger_projector_leader (\S+)$/m), 1);
  });

  it('counts open WebSocket streams and the frames sent to them', async () => {
    const connections = () => metricValue(standby, /^runledger_stream_connections\{transport="ws"\} (\S+)$/m, METRICS_TOKEN);
    const frames = () => metricValue(standby, /^runledger_stream_frames_sent_total\{transport="ws"\} (\S+)$/m, METRICS_TOKEN);
    assert.equal(await connections(), 0);
    const framesBefore = (await frames()) ?? 0;
    const socket = new WebSocket(`ws://127.0.0.1:${standby.wsPort}/ws?from=0`);
    const hello = await new Promise<string>((resolve, reject) => {
      socket.once('message', (data) => resolve(String(data)));
      socket.once('error', reject);
    });
    assert.match(hello, /"type":"hello"/);
    assert.equal(await connections(), 1);
    assert.ok(((await frames()) ?? 0) > framesBefore);
    socket.close();
    await eventually(async () => (await connections()) === 0, 30_000, 'the connection count to drop');
  });

  it('splits the server\'s part of a dispatch: NOTIFY -> events read -> frames handed to the clients', async () => {
    const count = (name: string) => metricValue(standby, new RegExp(`^${name}_count (\\S+)$`, 'm'), METRICS_TOKEN);
    const readBefore = (await count('runledger_stream_read_seconds')) ?? 0;
    const sentBefore = (await count('runledger_stream_send_seconds')) ?? 0;
    await append(db.pool, [{ streamType: 'probe', streamId: 'split', type: 'probe.split', data: {} }]);
    await eventually(async () => ((await count('runledger_stream_read_seconds')) ?? 0) > readBefore, 30_000, 'a ring answered by a read');
    assert.ok(((await count('runledger_stream_send_seconds')) ?? 0) > sentBefore);
  });

  it('reports degraded with the reason while the read model lags, and ok once it catches up', async () => {
    // The leader keeps its projector lock but stops applying: the standby cannot take over.
    leader.child.kill('SIGSTOP');
    const before = (await metricValue(standby, /^runledger_ledger_head_position (\S+)$/m, METRICS_TOKEN)) ?? 0;
    const events = Array.from({ length: 3 }, (_, i) => ({ streamType: 'health', streamId: 'lag', type: 'health.probed', data: { i } }));
    await append(db.pool, events);
    await eventually(async () => (await ready(standby)).body.status === 'degraded', 30_000, 'readiness to degrade');
    const { code, body } = await ready(standby);
    assert.equal(code, 200);
    assert.equal(body.checks.projection!.status, 'degraded');
    assert.deepEqual(body.reasons.length, 1);
    assert.match(body.reasons[0]!, /^projection: read model 3 events \(.* s\) behind the ledger$/);
    assert.equal(await metricValue(standby, /^runledger_ledger_head_position (\S+)$/m, METRICS_TOKEN), before + 3);
    assert.equal(await metricValue(standby, /^runledger_projection_lag_events (\S+)$/m, METRICS_TOKEN), 3);

    leader.child.kill('SIGCONT');
    await eventually(async () => (await ready(standby)).body.status === 'ok', 30_000, 'readiness to recover');
    // The leader counted the events it applied, once.
    assert.equal(await metricValue(leader, /^runledger_events_appended_total\{type="health.probed"\} (\S+)$/m), 3);
    assert.equal(await metricValue(standby, /^runledger_events_appended_total\{type="health.probed"\} (\S+)$/m, METRICS_TOKEN), undefined);
  });

  it('answers 503 naming the database while PostgreSQL refuses it, and recovers', async () => {
    await admin(`alter database ${name} allow_connections false`);
    await admin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}'`);
    await eventually(async () => (await ready(standby)).code === 503, 30_000, 'readiness to fail');
    const { body } = await ready(standby);
    assert.equal(body.status, 'unavailable');
    assert.equal(body.checks.database!.status, 'down');
    assert.ok(body.reasons.some((reason) => reason.startsWith('database: ')), JSON.stringify(body.reasons));
    // /health/live has no dependencies: still 200.
    assert.equal((await fetch(`http://127.0.0.1:${standby.httpPort}/health/live`)).status, 200);
    assert.equal(await metricValue(standby, /^runledger_database_up (\S+)$/m, METRICS_TOKEN), 0);

    await admin(`alter database ${name} allow_connections true`);
    await eventually(async () => (await ready(standby)).body.status === 'ok', 60_000, 'readiness to recover');
    assert.equal(await metricValue(standby, /^runledger_database_up (\S+)$/m, METRICS_TOKEN), 1);
  });
});
