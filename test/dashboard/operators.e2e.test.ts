import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { readConfig } from '../../src/ops/config.js';
import { createLogger } from '../../src/ops/logger.js';
import { createJob, registerDemoPipelines, startWorker, type RunningWorker } from '../../src/pipelines/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { eventually } from '../helpers/ordering-harness.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { collectErrors, launchBrowser } from './browser.js';

const ADMIN = 'admin-secret-for-the-dashboard-test';
const READER = 'read-secret-for-the-dashboard-test';

async function count(db: TestDatabase, type: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>('select count(*) as n from ledger.events where type = $1', [type]);
  return Number(rows[0]!.n);
}

describe('operator actions on the dashboard: admin token acts, read token is refused', { timeout: 600_000 }, () => {
  let db: TestDatabase;
  let serve: ServeProcess;
  let worker: RunningWorker;
  let browser: Browser;
  let failedJob: string;

  before(async () => {
    db = await createTestDatabase(4);
    registerDemoPipelines();
    serve = await spawnServe(db.url, { RUNLEDGER_TOKEN: ADMIN, RUNLEDGER_READ_TOKENS: `viewer:${READER}`, RUNLEDGER_TAIL_POLL_MS: '200' });
    worker = await startWorker({
      url: db.url,
      config: { ...readConfig({}), workerConcurrency: 2, heartbeatMs: 500 },
      logger: createLogger('silent'),
      crontab: false,
      pollIntervalMs: 100,
      graceMs: 2000,
    });
    // A job that fails every attempt: a dead letter to retry.
    failedJob = (await createJob(db.pool, 'video_clip', { url: 'https://example.com/v.mp4', durationSeconds: 60, failureRate: 1, speed: 20 })).jobId;
    await eventually(async () => (await count(db, 'job.failed')) === 1, 120_000, 'the job to fail');
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await worker?.stop();
    await serve?.stop();
    await db?.drop();
  });

  const open = async (token: string | undefined, hash: string): Promise<{ page: Page; errors: string[] }> => {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors = collectErrors(page);
    if (token) await page.addInitScript((t) => sessionStorage.setItem('runledger.token', t), token);
    await page.goto(`http://127.0.0.1:${serve.httpPort}/${hash}`);
    return { page, errors };
  };

  it('with no token the page asks for one and shows nothing it may not read', async () => {
    const { page } = await open(undefined, '#/queues');
    await page.getByLabel(/API token/).waitFor();
    await page.getByTestId('connection').and(page.locator('[data-state="offline"]')).waitFor({ timeout: 30_000 });
    await page.close();
  });

  it('a read token streams, but pause and retry are refused with 403 and the buttons turn disabled', async () => {
    const { page } = await open(READER, '#/queues');
    await page.getByTestId('connection').and(page.locator('[data-state="live"]')).waitFor({ timeout: 60_000 });
    const pausesBefore = await count(db, 'queue.paused');
    await page.getByTestId('toggle-video_clip').click();
    await page.getByRole('status').filter({ hasText: /refused — 403/ }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('toggle-video_clip').isDisabled(), true);
    assert.equal(await count(db, 'queue.paused'), pausesBefore, 'nothing was written');

    await page.evaluate(() => (location.hash = '#/dead-letters'));
    assert.equal(await page.getByTestId(`retry-${failedJob}`).isDisabled(), true, 'read-only is remembered');
    await page.close();
  });

  it('an admin token pauses and resumes a pipeline and retries a dead letter, each shown live', async () => {
    const { page, errors } = await open(ADMIN, '#/queues');
    await page.getByTestId('connection').and(page.locator('[data-state="live"]')).waitFor({ timeout: 60_000 });
    const row = page.locator('tr[data-pipeline="video_clip"]');
    await page.getByTestId('toggle-video_clip').click();
    await row.locator('.badge', { hasText: 'paused' }).waitFor({ timeout: 30_000 });
    assert.equal(await count(db, 'queue.paused'), 1);
    await page.getByTestId('toggle-video_clip').click();
    await row.locator('.badge', { hasText: 'running' }).waitFor({ timeout: 30_000 });
    assert.equal(await count(db, 'queue.resumed'), 1);

    await page.evaluate(() => (location.hash = '#/dead-letters'));
    await page.getByTestId(`retry-${failedJob}`).click();
    // Retried: it leaves the failed list (and, failing again, may come back later).
    await eventually(async () => (await count(db, 'job.retried')) === 1, 30_000, 'job.retried');
    const { rows } = await db.pool.query<{ actor: string | null }>(`select metadata->>'actor' as actor from ledger.events where type = 'job.retried'`);
    assert.ok(rows[0]!.actor, 'the retry names who did it');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
