import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { Logger as GraphileLogger, run as startGraphile, type Runner, type Task, type TaskList, type WorkerEvents } from 'graphile-worker';
import { append } from '../ledger/append.js';
import type { Config } from '../ops/config.js';
import type { Logger } from '../ops/logger.js';
import { createPool } from '../ops/pool.js';
import { archiveFinished } from './archive-finished.js';
import { comeBack } from './come-back.js';
import type { Pipeline } from './definition.js';
import { pipelineFlag, stepTask, type StepPayload } from './naming.js';
import { listPipelines } from './registry.js';
import { runStep, StepAborted, type StepRunner } from './run-step.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { startBatcher } from './start-batcher.js';
import { finishBatcher } from './finish-batcher.js';
import { createAppender } from '../ledger/appender.js';
import { sweep } from './sweep.js';
import { withTransaction } from '../ops/transaction.js';
import { workerEvent } from '../events/new-event.js';

export interface WorkerOptions {
  /** Connection string; the worker opens its own pool. */
  readonly url: string;
  readonly config: Pick<
    Config,
    | 'workerConcurrency' | 'heartbeatMs' | 'workerTtlMs' | 'queueWarnDepth' | 'queueCriticalDepth' | 'maxEventBytes'
    | 'retainFinishedMs' | 'retainMaxJobs'
  >;
  readonly logger: Logger;
  /** (Default: every registered pipeline) */
  readonly pipelines?: readonly Pipeline[];
  /** How often running jobs are checked for cancel and pauses re-read, ms. (Default: 250) */
  readonly controlMs?: number;
  /** A `worker.load` sample at most this often, ms. (Default: 30000) */
  readonly loadSampleMs?: number;
  /** graphile-worker poll interval for future (retry) jobs, ms. (Default: 1000) */
  readonly pollIntervalMs?: number;
  /** On stop, running steps get this long to finish before they are handed back, ms. (Default: 5000) */
  readonly graceMs?: number;
  /** Run the once-a-minute maintenance (sweep, read-model retention) from graphile-worker's crontab. (Default: true) */
  readonly crontab?: boolean;
}

export interface RunningWorker {
  readonly workerId: string;
  /** Graceful: stop taking work, let running steps finish (or hand them back after graceMs), append worker.stopped. */
  stop(reason?: string): Promise<void>;
}

/**
 * Starts a worker: graphile-worker runs the steps of the given pipelines;
 * this adds `worker.started` / `worker.stopped`, a heartbeat row, a
 * `worker.load` sample every 30 s, pause (graphile-worker forbidden flags plus
 * a check at each step start) and cancel (the running step's AbortSignal).
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { config, logger } = options;
  const pipelines = options.pipelines ?? listPipelines();
  const concurrency = config.workerConcurrency;
  const workerId = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  // Each running step holds a client for its transaction and may borrow one
  // for progress; graphile-worker needs its own for LISTEN and get_job.
  const pool = createPool(options.url, concurrency * 2 + 4, 'runledger-worker');
  // A checked-out client whose connection dies emits 'error' on itself; the
  // query that was running fails, which is what we want, not a crash.
  pool.on('connect', (client) => client.on('error', () => {}));
  const log = logger.child({ workerId });

  await withTransaction(pool, async (client) => {
    await client.query(
      `insert into pipelines.workers (worker_id, host, pid, concurrency, pipelines, state) values ($1, $2, $3, $4, $5, 'online')`,
      [workerId, os.hostname(), process.pid, concurrency, pipelines.map((p) => p.name)],
    );
    await appendWithJobs(
      client,
      [],
      eventsPayload([
        workerEvent('worker.started', { workerId, host: os.hostname(), pid: process.pid, concurrency, pipelines: pipelines.map((p) => p.name) }),
      ]),
    );
  });

  let forbidden: string[] = [];
  const shutdown = new AbortController();
  const runner: StepRunner = {
    pool,
    workerId,
    logger: log,
    shutdown: shutdown.signal,
    running: new Map(),
    start: startBatcher(pool, workerId),
    finish: finishBatcher(),
    // Progress and log lines of all running steps, group-committed (two
    // transactions at most, so steps keep their connections).
    appender: createAppender(pool, { maxEventBytes: config.maxEventBytes }),
    onPaused: () => control(),
    maxEventBytes: config.maxEventBytes,
  };

  const control = async (): Promise<void> => {
    const { rows } = await pool.query<{ paused: string[]; stopped: string[] }>(
      `select (select coalesce(array_agg(pipeline), '{}') from pipelines.pauses) as paused,
              (select coalesce(array_agg(job_id::text), '{}') from pipelines.jobs
                where job_id = any($1::uuid[]) and state in ('cancelled', 'failed')) as stopped`,
      [[...runner.running.keys()]],
    );
    const paused = rows[0]!.paused;
    forbidden = paused.includes('*') ? pipelines.map((p) => pipelineFlag(p.name)) : paused.map(pipelineFlag);
    for (const jobId of rows[0]!.stopped) {
      for (const controller of runner.running.get(jobId) ?? []) {
        controller.abort(new StepAborted('cancelled', 'job was cancelled'));
      }
    }
  };
  await control();

  const taskList: TaskList = {};
  for (const pipeline of pipelines) {
    const task: Task = async (payload) => {
      await runStep(runner, pipeline, payload as StepPayload);
    };
    taskList[stepTask(pipeline.name)] = task;
  }
  taskList.rl_maintenance = async () => {
    await sweep(pool, config);
  };
  taskList.rl_archive = async () => {
    const result = await archiveFinished(pool, config);
    if (result.archived > 0 || (result.stopped && result.stopped !== 'busy')) log.info(result, 'read-model retention');
  };

  const gwWorkerIds: string[] = [];
  const events: WorkerEvents = new EventEmitter() as WorkerEvents;
  // graphile-worker 0.17 locks jobs in the pool's name; the workers' own ids
  // are kept too, for versions that lock per worker.
  events.on('pool:create', ({ workerPool }) => {
    gwWorkerIds.push(workerPool.id);
  });
  events.on('worker:create', ({ worker }) => {
    gwWorkerIds.push(worker.workerId);
  });
  // graphile-worker's own bookkeeping (fetching, locking and completing
  // jobs) commits asynchronously, on a pool of its own: after a PostgreSQL
  // crash a lost completion only runs a step job again, which start_steps
  // then finds done (its step_runs row and events committed synchronously).
  // That takes two WAL flushes per step off the ledger's commit path.
  const graphilePool = createPool(options.url, concurrency + 2, 'runledger-worker-jobs', { asyncCommit: true });
  graphilePool.on('connect', (client) => client.on('error', () => {}));
  const gwRunner: Runner = await startGraphile({
    pgPool: graphilePool,
    concurrency,
    noHandleSignals: true,
    pollInterval: options.pollIntervalMs ?? 1000,
    taskList,
    crontab: options.crontab === false ? '' : '* * * * * rl_maintenance ?max=1\n* * * * * rl_archive ?max=1',
    forbiddenFlags: () => forbidden,
    events,
    logger: graphileLogger(log),
    gracefulShutdownAbortTimeout: options.graceMs ?? 5000,
  }).catch(async (error: unknown) => {
    // Never started: say so in the ledger, and leave nothing open.
    await withTransaction(pool, async (client) => {
      await client.query(`update pipelines.workers set state = 'stopped' where worker_id = $1`, [workerId]);
      await appendWithJobs(client, [], eventsPayload([workerEvent('worker.stopped', { workerId, reason: 'failed to start' })]));
    }).catch(() => {});
    await Promise.all([pool.end(), graphilePool.end()]);
    throw error;
  });
  await pool.query('update pipelines.workers set gw_worker_ids = $2 where worker_id = $1', [workerId, gwWorkerIds]);

  const controlTimer = setInterval(() => {
    control().catch((error: Error) => log.warn({ err: error }, 'control check failed'));
  }, options.controlMs ?? 250);

  const loadEvery = options.loadSampleMs ?? 30_000;
  let lastLoadAt = Date.now();
  let lastCpu = process.cpuUsage();
  const beat = async () => {
    const { rowCount } = await pool.query(
      `update pipelines.workers set last_seen_at = now() where worker_id = $1 and state = 'online'`,
      [workerId],
    );
    if (rowCount === 0) await comeBack(pool, workerId);
    if (Date.now() - lastLoadAt >= loadEvery) {
      const cpu = process.cpuUsage(lastCpu);
      const cpuPercent = Math.round(((cpu.user + cpu.system) / 1000 / (Date.now() - lastLoadAt)) * 1000) / 10;
      lastLoadAt = Date.now();
      lastCpu = process.cpuUsage();
      let runningSteps = 0;
      for (const set of runner.running.values()) runningSteps += set.size;
      await append(pool, [workerEvent('worker.load', { workerId, runningSteps, rssBytes: process.memoryUsage().rss, cpuPercent })]);
    }
  };
  const heartbeat = setInterval(() => {
    beat().catch((error: Error) => log.warn({ err: error }, 'heartbeat failed'));
  }, config.heartbeatMs);

  let stopping: Promise<void> | undefined;
  return {
    workerId,
    stop(reason = 'shutdown') {
      stopping ??= (async () => {
        clearInterval(controlTimer);
        // Steps still running after the grace period are handed back.
        const grace = setTimeout(() => shutdown.abort(), options.graceMs ?? 5000);
        try {
          await gwRunner.stop();
        } finally {
          clearTimeout(grace);
          clearInterval(heartbeat);
        }
        await withTransaction(pool, async (client) => {
          await client.query(`update pipelines.workers set state = 'stopped', last_seen_at = now() where worker_id = $1`, [workerId]);
          await appendWithJobs(client, [], eventsPayload([workerEvent('worker.stopped', { workerId, reason })]));
        });
        await Promise.all([pool.end(), graphilePool.end()]);
      })();
      return stopping;
    },
  };
}

// graphile-worker's info lines (one per job) are debug for us.
function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger(() => (level, message, meta) => {
    if (level === 'error') logger.error({ graphile: meta }, message);
    else if (level === 'warning') logger.warn({ graphile: meta }, message);
    else logger.debug({ graphile: meta }, message);
  });
}
