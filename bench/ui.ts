// The dashboard in headless Chromium (Debian's, via playwright-core), against
// `runledger serve` in a child process:
//  - first render: 10,000 jobs in the read model; a fresh page at #/jobs,
//    navigation start -> the jobs list shows "10,000 jobs" and its rows;
//  - live: 100 events/s appended (open loop) while the page shows #/events;
//    append committed (in this process) -> the page's DOM has the event's
//    row (a MutationObserver in the page notes the time), p50 / p99; beside
//    it, the dispatch latency of the same events to a WebSocket client here
//    (append committed -> frame received) and the INSERT+NOTIFY floor;
//  - the bundle's size, gzipped.
// Times compare `performance.timeOrigin + performance.now()` in both
// processes: the same machine's clock.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { append } from '../src/ledger/append.js';
import type { NewEvent } from '../src/ledger/types.js';
import { createPool } from '../src/ops/pool.js';
import type { BenchContext, BenchResult } from './lib/context.js';
import { notifyRoundTrip, openLoop } from './lib/floor.js';
import { Latencies, round } from './lib/stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = 100;
const JOBS = Number(process.env.BENCH_UI_JOBS ?? 10_000);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli.js');

const epochNow = () => performance.timeOrigin + performance.now();

const jobCreated = (i: number): NewEvent => ({
  streamType: 'job',
  streamId: `bench-job-${i}`,
  type: 'job.created',
  data: {
    jobId: `bench-job-${i}`,
    pipeline: i % 2 ? 'video_clip' : 'content_agents',
    input: { url: `https://example.test/${i}` },
    inputBytes: 40,
    priority: 'normal',
    steps: ['download', 'transcribe', 'cut'],
  },
});

const progress = (i: number): NewEvent => {
  const jobId = `bench-job-${i % JOBS}`;
  return { streamType: 'job', streamId: jobId, type: 'step.progress', data: { jobId, pipeline: 'video_clip', step: 'transcribe', attempt: 1, percent: i % 100 } };
};

async function startServer(url: string): Promise<{ child: ChildProcess; httpPort: number; wsPort: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, DATABASE_URL: url, PORT: '0', WS_PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ports = await new Promise<{ httpPort: number; wsPort: number }>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /"httpPort":(\d+),"wsPort":(\d+)/.exec(text);
      if (match) resolve({ httpPort: Number(match[1]), wsPort: Number(match[2]) });
    });
    child.once('exit', (code) => reject(new Error(`runledger serve exited with ${code}`)));
  });
  child.stdout!.resume();
  return {
    child,
    ...ports,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export default async function ui(context: BenchContext): Promise<BenchResult> {
  const bundle = fs.readFileSync(path.join(ROOT, 'dist/dashboard/assets/app.js'));
  const css = fs.readFileSync(path.join(ROOT, 'dist/dashboard/assets/app.css'));
  const bundleKb = zlib.gzipSync(bundle, { level: 9 }).length / 1024;
  const cssKb = zlib.gzipSync(css, { level: 9 }).length / 1024;

  const url = await context.freshDatabase('ui');
  context.log(`floor: INSERT+NOTIFY -> LISTEN at ${RATE}/s for ${SECONDS} s`);
  const floor = await notifyRoundTrip(url, RATE, SECONDS);
  const pool = createPool(url, 4, 'runledger-bench');
  context.log(`appending ${JOBS} jobs`);
  for (let i = 0; i < JOBS; i += 500) {
    await append(pool, Array.from({ length: Math.min(500, JOBS - i) }, (_, k) => jobCreated(i + k)));
  }
  const server = await startServer(url);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  try {
    // The projector must hold the 10,000 jobs, so the page's snapshot has them.
    const head = JOBS / 500;
    for (;;) {
      const { rows } = await pool.query<{ n: string }>('select count(*) as n from projection.jobs');
      if (Number(rows[0]!.n) >= JOBS) break;
      await sleep(200);
    }
    context.log(`first render of ${JOBS} jobs (${head} appends)`);
    {
      const t0 = performance.now();
      const ws = new WebSocket(`ws://127.0.0.1:${server.wsPort}/ws?snapshot=1`);
      const size = await new Promise<number>((resolve) =>
        ws.once('message', () =>
          ws.once('message', (data: Buffer) => {
            if (process.env.BENCH_UI_DUMP) context.log(data.toString().slice(0, 3000));
            resolve(data.length);
          }),
        ),
      );
      ws.close();
      context.log(`  a WebSocket snapshot of ${JOBS} jobs: ${Math.round(performance.now() - t0)} ms, ${Math.round(size / 1024)} KiB`);
    }
    const renders: number[] = [];
    for (let run = 0; run < 3; run += 1) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
      await page.goto(`http://127.0.0.1:${server.httpPort}/#/jobs`);
      const ms = await page.waitForFunction(
        (jobs) => {
          const count = document.querySelector('[data-testid="jobs-count"]')?.textContent ?? '';
          return count.replace(/,/g, '').startsWith(`${jobs} `) && document.querySelector('.job-row[data-job]') ? performance.now() : false;
        },
        JOBS,
        { polling: 'raf', timeout: 60_000 },
      );
      renders.push((await ms.jsonValue()) as number);
      const marks = await page.evaluate(() => performance.getEntriesByType('mark').map((m) => `${m.name.replace('runledger:', '')} ${Math.round(m.startTime)}`));
      const ws = await page.evaluate(() => performance.getEntriesByType('resource').filter((r) => r.name.includes('/assets/')).map((r) => `${r.name.split('/').pop()} ${Math.round((r as PerformanceResourceTiming).responseEnd)}`));
      context.log(`  render ${Math.round(renders[renders.length - 1]!)} ms; marks: ${marks.join(', ')}; ${ws.join(', ')}`);
      await page.close();
    }
    renders.sort((a, b) => a - b);

    context.log(`live: ${RATE} events/s for ${SECONDS} s, page on #/events and one WebSocket client here`);
    const page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
    await page.goto(`http://127.0.0.1:${server.httpPort}/#/events`);
    await page.waitForSelector('[data-testid="connection"][data-state="live"]', { timeout: 60_000 });
    await page.evaluate(() => {
      const seen = new Map<number, number>();
      (globalThis as unknown as { seen: Map<number, number> }).seen = seen;
      new MutationObserver((records) => {
        const at = performance.timeOrigin + performance.now();
        for (const record of records) {
          for (const node of Array.from(record.addedNodes)) {
            const offset = (node as Element).getAttribute?.('data-offset');
            if (offset && !seen.has(Number(offset))) seen.set(Number(offset), at);
          }
        }
      }).observe(document.querySelector('[data-testid="event-list"]')!, { subtree: true, childList: true });
    });
    const { rows } = await pool.query<{ head: string }>('select max(position) as head from ledger.events');
    const start = Number(rows[0]!.head);
    const ws = new WebSocket(`ws://127.0.0.1:${server.wsPort}/ws?from=${start}`);
    const wsArrivals = new Map<number, number>();
    ws.on('message', (data: Buffer) => {
      const at = epochNow();
      const frame = JSON.parse(data.toString()) as { type: string; deltas?: { offset: number }[] };
      if (frame.type === 'deltas') for (const delta of frame.deltas!) if (!wsArrivals.has(delta.offset)) wsArrivals.set(delta.offset, at);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    const committed = new Map<number, number>();
    const warmup = RATE; // the first second warms up (JIT, connections); not counted
    await openLoop(RATE, SECONDS + 1, async (i) => {
      const [result] = await append(pool, [progress(i)]);
      if (i >= warmup) committed.set(result!.position, epochNow());
    });
    await sleep(2000);
    const seen = new Map((await page.evaluate(() => [...(globalThis as unknown as { seen: Map<number, number> }).seen])) as [number, number][]);
    const uiLatency = new Latencies();
    const dispatch = new Latencies();
    let missing = 0;
    for (const [position, at] of committed) {
      const shown = seen.get(position);
      if (shown === undefined) missing += 1;
      else uiLatency.record(Math.max(0, shown - at));
      const got = wsArrivals.get(position);
      if (got !== undefined) dispatch.record(Math.max(0, got - at));
    }
    ws.close();
    await page.close();
    const render = renders[1]!;
    return {
      rows: [
        ['floor: INSERT+NOTIFY -> LISTEN p50', round(floor.p(50)), 'ms'],
        ['floor p99', round(floor.p(99)), 'ms'],
        ['dispatch: committed -> WebSocket frame p50', round(dispatch.p(50)), 'ms', 'same events, a ws client in the bench'],
        ['dispatch p99', round(dispatch.p(99)), 'ms'],
        ['ui: committed -> DOM row p50', round(uiLatency.p(50)), 'ms', 'target ≤ 20'],
        ['ui p99', round(uiLatency.p(99)), 'ms', 'target ≤ 60'],
        ['ui events shown / committed', `${committed.size - missing} / ${committed.size}`, ''],
        [`first render with ${JOBS} jobs (median of 3)`, round(render, 0), 'ms', `target ≤ 1000; runs ${renders.map((r) => Math.round(r)).join(', ')}`],
        ['bundle app.js gzipped', round(bundleKb, 1), 'KiB', `${round(bundle.length / 1024, 1)} KiB raw; css ${round(cssKb, 1)} KiB gzipped`],
      ],
      json: {
        ui_p50_ms: round(uiLatency.p(50)),
        ui_p99_ms: round(uiLatency.p(99)),
        ui_first_render_10k_ms: round(render, 0),
        ui_bundle_kb: round(bundleKb, 1),
        ui_missing: missing,
        dispatch_p50_ms: round(dispatch.p(50)),
        dispatch_p99_ms: round(dispatch.p(99)),
        floor_p50_ms: round(floor.p(50)),
        floor_p99_ms: round(floor.p(99)),
      },
    };
  } finally {
    await browser.close();
    await server.stop();
    await pool.end();
  }
}
