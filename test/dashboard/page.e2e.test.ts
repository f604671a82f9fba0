import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { readConfig } from '../../src/ops/config.js';
import { createLogger } from '../../src/ops/logger.js';
import { eventToDeltas } from '../../src/projections/event-to-deltas.js';
import { modelAt } from '../../src/projections/rebuild.js';
import { createJob, registerDemoPipelines, startWorker, type RunningWorker } from '../../src/pipelines/index.js';
import { read } from '../../src/ledger/read.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { collectErrors, launchBrowser, screenshot, seriousViolations, startProxy } from './browser.js';

const VIDEO_STEPS = ['download', 'transcribe', 'detect_moments', 'detect_faces', 'crop', 'cut'];
const quickClip = (speed = 3) => ({ url: 'https://example.com/v.mp4', durationSeconds: 60, failureRate: 0, speed });

/** The page's state, read from the store the page renders from. */
interface PageState {
  offset: number;
  snapshotOffset: number;
  baseOffset: number;
  connection: string;
  reconnects: number;
  events: number[];
}
const pageState = (page: Page): Promise<PageState> =>
  page.evaluate(() => {
    const store = (globalThis as unknown as { runledgerDashboard: { offset: number; snapshotOffset: number; baseOffset: number; connection: string; reconnects: number; events: { offset: number }[] } })
      .runledgerDashboard;
    return { offset: store.offset, snapshotOffset: store.snapshotOffset, baseOffset: store.baseOffset, connection: store.connection, reconnects: store.reconnects, events: store.events.map((e) => e.offset) };
  });

async function head(db: TestDatabase): Promise<number> {
  const { rows } = await db.pool.query<{ head: string | null }>('select max(position) as head from ledger.events');
  return Number(rows[0]!.head ?? 0);
}

/** Ledger positions in (from, to] whose events change the read model (every catalogued event does). */
async function ledgerPositions(db: TestDatabase, from: number, to: number): Promise<number[]> {
  const positions: number[] = [];
  let after = from;
  for (;;) {
    const events = await read(db.pool, { after, limit: 1000 });
    if (events.length === 0) return positions;
    for (const event of events) if (event.position <= to && eventToDeltas(event).length > 0) positions.push(event.position);
    if (events[events.length - 1]!.position >= to) return positions;
    after = events[events.length - 1]!.position;
  }
}

/** Waits until these jobs are finished and the page has applied everything up to the ledger's head. */
async function jobsDone(db: TestDatabase, jobIds: readonly string[]): Promise<void> {
  await eventually(async () => {
    const { rows } = await db.pool.query<{ n: string }>(
      `select count(*) as n from ledger.events where type in ('job.completed', 'job.failed') and data->>'jobId' = any($1)`,
      [jobIds],
    );
    return Number(rows[0]!.n) === jobIds.length;
  }, 60_000, 'the jobs to finish');
}

/** Waits until the page has applied everything in the ledger (checked twice, the head unchanged). */
async function settle(db: TestDatabase, page: Page): Promise<PageState> {
  let state: PageState | undefined;
  await eventually(
    async () => {
      const before = await head(db);
      state = await pageState(page);
      return state.offset === before && (await head(db)) === before && (state.connection === 'live' || state.connection === 'sse');
    },
    60_000,
    'the page to reach the ledger head',
  );
  return state!;
}

function counts(model: { stats: Record<string, Record<string, number>> }): Record<string, number> {
  const result: Record<string, number> = { queued: 0, running: 0, completed: 0, failed: 0 };
  for (const [id, row] of Object.entries(model.stats)) {
    if (!id.startsWith('jobs/')) continue;
    for (const [status, n] of Object.entries(row)) result[status] = (result[status] ?? 0) + n;
  }
  return result;
}

const cardNumber = async (page: Page, testid: string) => Number((await page.getByTestId(testid).locator('.card-value').innerText()).replace(/,/g, ''));

describe('the dashboard page in Chromium', { timeout: 600_000 }, () => {
  let db: TestDatabase;
  let serve: ServeProcess;
  let worker: RunningWorker;
  let browser: Browser;

  before(async () => {
    db = await createTestDatabase(4);
    registerDemoPipelines();
    serve = await spawnServe(db.url, { RUNLEDGER_TAIL_POLL_MS: '200' });
    worker = await startWorker({
      url: db.url,
      config: { ...readConfig({}), workerConcurrency: 4, heartbeatMs: 500 },
      logger: createLogger('silent'),
      crontab: false,
      pollIntervalMs: 100,
      graceMs: 2000,
    });
    // Some history before the page opens: the snapshot must show it.
    const jobs = await Promise.all([1, 2, 3].map(() => createJob(db.pool, 'video_clip', quickClip(5))));
    await eventually(async () => {
      const { rows } = await db.pool.query<{ n: string }>(`select count(*) as n from ledger.events where type = 'job.completed'`);
      return Number(rows[0]!.n) === jobs.length;
    }, 60_000, 'the first jobs to complete');
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await worker?.stop();
    await serve?.stop();
    await db?.drop();
  });

  const open = async (query = '', options: { width?: number; height?: number; dark?: boolean } = {}) => {
    const page = await browser.newPage({ viewport: { width: options.width ?? 1400, height: options.height ?? 950 }, colorScheme: options.dark ? 'dark' : 'light' });
    const errors = collectErrors(page);
    await page.goto(`http://127.0.0.1:${serve.httpPort}/${query}`);
    await page.getByTestId('connection').and(page.locator('[data-state="live"]')).waitFor({ timeout: 60_000 });
    return { page, errors };
  };

  it('loads with no console errors, shows the snapshot, and axe finds no serious violations', async () => {
    const { page, errors } = await open();
    const { model } = await modelAt(db.pool);
    await eventually(async () => (await cardNumber(page, 'card-completed')) === counts(model).completed, 30_000, 'the completed card');
    assert.equal(await cardNumber(page, 'card-failed'), 0);
    assert.match(await page.getByTestId('card-workers').innerText(), /1 \/ 1/);
    for (const tab of ['', '#/events', '#/jobs', '#/workers', '#/queues', '#/dead-letters']) {
      await page.evaluate((hash) => (location.hash = hash), tab);
      await page.waitForTimeout(300);
      const violations = await seriousViolations(page);
      assert.deepEqual(violations.map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on "${tab || 'overview'}"`);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows a job created meanwhile appear and progress to completed live, its graph nodes turning colour in order', async () => {
    const { page, errors } = await open('#/jobs');
    // Record every status each graph node shows, from before the job exists.
    await page.evaluate(() => {
      const seen: Record<string, string[]> = {};
      (globalThis as unknown as { nodeStatuses: typeof seen }).nodeStatuses = seen;
      const scan = () => {
        for (const node of Array.from(document.querySelectorAll('g.node[data-step]'))) {
          const step = node.getAttribute('data-step')!;
          const status = node.getAttribute('data-status')!;
          const list = (seen[step] ??= []);
          if (list[list.length - 1] !== status) list.push(status);
        }
      };
      new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
    });
    const { jobId } = await createJob(db.pool, 'video_clip', quickClip(2));
    await page.locator(`.job-row[data-job="${jobId}"]`).waitFor({ timeout: 30_000 });
    await page.locator(`.job-row[data-job="${jobId}"] a`).click();
    await page.getByTestId('job-status').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
    const statuses = (await page.evaluate(() => (globalThis as unknown as { nodeStatuses: Record<string, string[]> }).nodeStatuses)) as Record<string, string[]>;
    assert.deepEqual(Object.keys(statuses).sort(), [...VIDEO_STEPS].sort());
    const rank: Record<string, number> = { pending: 0, queued: 1, running: 2, completed: 3 };
    for (const step of VIDEO_STEPS) {
      const seq = statuses[step]!;
      assert.equal(seq[seq.length - 1], 'completed', `${step}: ${seq.join(' → ')}`);
      // Never backwards: pending → queued → running → completed (some may be skipped between two renders).
      for (let i = 1; i < seq.length; i += 1) assert.ok(rank[seq[i]!]! > rank[seq[i - 1]!]!, `${step}: ${seq.join(' → ')}`);
    }
    assert.ok(VIDEO_STEPS.some((step) => statuses[step]!.includes('running')), 'some node was seen running');
    assert.equal(await page.locator('g.node[data-status="completed"]').count(), VIDEO_STEPS.length);
    await screenshot(page, 'job-detail');
    assert.deepEqual(errors.filter((e) => !/404/.test(e)), []);
    await page.close();
  });

  it('after its WebSocket is cut, again and again, the event list equals the ledger exactly', async () => {
    const proxy = await startProxy(serve.wsPort);
    try {
      const { page } = await open(`?ws=${encodeURIComponent(`ws://127.0.0.1:${proxy.port}/ws`)}#/events`);
      const start = await pageState(page);
      const created: Promise<{ jobId: string }>[] = [];
      for (let i = 0; i < 4; i += 1) {
        created.push(createJob(db.pool, 'video_clip', quickClip(4)));
        await new Promise((resolve) => setTimeout(resolve, 300));
        // Cut it only once it is back: each cut lands on a live connection, mid-flow.
        await eventually(async () => (await pageState(page)).connection === 'live', 30_000, 'the page to be live again');
        assert.ok(proxy.cut() > 0, 'there was a connection to cut');
      }
      await jobsDone(db, (await Promise.all(created)).map((c) => c.jobId));
      const state = await settle(db, page);
      assert.ok(state.reconnects >= 4, `reconnected ${state.reconnects} times`);
      assert.equal(state.snapshotOffset, start.snapshotOffset, 'no new snapshot: it resumed from its offset');
      const expected = await ledgerPositions(db, start.snapshotOffset, state.offset);
      assert.deepEqual(state.events, expected);
      await page.close();
    } finally {
      await proxy.close();
    }
  });

  it('after the server process restarts, the event list equals the ledger exactly', async () => {
    // The page reaches the server through proxies, which then point at the new process (its ports are new).
    const http = await startProxy(serve.httpPort);
    const ws = await startProxy(serve.wsPort);
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`http://127.0.0.1:${http.port}/?ws=${encodeURIComponent(`ws://127.0.0.1:${ws.port}/ws`)}#/events`);
      await page.getByTestId('connection').and(page.locator('[data-state="live"]')).waitFor({ timeout: 60_000 });
      const start = await pageState(page);
      await serve.stop();
      await eventually(async () => (await pageState(page)).connection !== 'live', 30_000, 'the page to notice');
      // Work goes on while no server runs: the page must catch up with it.
      const first = await createJob(db.pool, 'video_clip', quickClip(4));
      serve = await spawnServe(db.url, { RUNLEDGER_TAIL_POLL_MS: '200' });
      http.retarget(serve.httpPort);
      ws.retarget(serve.wsPort);
      const second = await createJob(db.pool, 'video_clip', quickClip(4));
      await jobsDone(db, [first.jobId, second.jobId]);
      const state = await settle(db, page);
      assert.ok(state.reconnects >= 1);
      assert.equal(state.snapshotOffset, start.snapshotOffset, 'no new snapshot: it resumed from its offset');
      assert.deepEqual(state.events, await ledgerPositions(db, start.snapshotOffset, state.offset));
      await page.close();
    } finally {
      await http.close();
      await ws.close();
    }
  });

  it('scrubbed to offset N, shows the counts of the model rebuilt as of N, with a banner back to live', async () => {
    const { page, errors } = await open();
    const begin = (await pageState(page)).offset;
    const { jobId } = await createJob(db.pool, 'video_clip', quickClip(3));
    await eventually(async () => (await modelAt(db.pool)).model.jobs[jobId]?.status === 'running', 30_000, 'the job to run');
    const state = await pageState(page);
    // The page copies its scrubber base a moment after the snapshot; on a slow machine that copy can come
    // after the first deltas, so wait for events past the base too (the running job keeps producing them).
    await eventually(async () => {
      const s = await pageState(page);
      return s.offset > begin + 3 && s.offset - 1 >= s.baseOffset;
    }, 30_000, 'some events after the scrubber base');
    const n = (await pageState(page)).offset - 1;
    assert.ok(n >= (await pageState(page)).baseOffset, 'N is within the history the page replays');
    await page.getByTestId('scrubber').evaluate((input, value) => {
      (input as HTMLInputElement).value = String(value);
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }, n);
    await page.getByTestId('past-banner').waitFor();
    assert.match(await page.getByTestId('past-banner').innerText(), new RegExp(`offset\\s+${n}\\b`));
    const expected = counts((await modelAt(db.pool, n)).model);
    for (const status of ['queued', 'running', 'completed', 'failed']) {
      assert.equal(await cardNumber(page, `card-${status}`), expected[status], `${status} at ${n}`);
    }
    await screenshot(page, 'scrubbed-past');
    await page.getByRole('button', { name: 'Back to live' }).first().click();
    await page.getByTestId('past-banner').waitFor({ state: 'detached' });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('screenshots: overview under load, phone width, dark mode', async () => {
    const load = setInterval(() => void createJob(db.pool, Math.random() < 0.5 ? 'video_clip' : 'content_agents', Math.random() < 0.5 ? quickClip(2) : { prompt: 'Event sourcing for job pipelines', failureRate: 0.2, speed: 2 }).catch(() => {}), 250);
    try {
      const { page } = await open();
      await page.waitForTimeout(5000);
      await screenshot(page, 'overview');
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(500);
      await screenshot(page, 'phone');
      await page.close();
      const dark = await open('#/jobs', { dark: true });
      await dark.page.waitForTimeout(1500);
      await screenshot(dark.page, 'jobs-dark');
      await dark.page.close();
    } finally {
      clearInterval(load);
    }
  });
});
