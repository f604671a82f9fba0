import type pg from 'pg';
import type { Appender } from '../ledger/appender.js';
import type { NewEvent } from '../ledger/types.js';
import { coerceError } from '../ops/errors.js';
import type { Logger } from '../ops/logger.js';
import type { CompiledStep, Pipeline, PlanStep, StepContext } from './definition.js';
import type { Priority } from '../events/catalogue.js';
import { stepJobKey, type StepPayload } from './naming.js';
import { holdStepStarts } from './pause.js';
import type { StartResult } from './start-batcher.js';
import type { FinishItem, FinishResult } from './finish-batcher.js';
import { appendWithJobs, appendWithJobsAndCommit, eventsPayload } from './append-with-jobs.js';
import { createStepLog } from './step-log.js';
import { lazyTransaction } from './lazy-begin.js';
import { INLINE_LIMIT } from '../ledger/append.js';
import { queueStep, redeliverySpec, type JobSpec } from './step-spec.js';
import { withTransaction } from '../ops/transaction.js';
import { jobEvent, jsonBytes } from '../events/new-event.js';

export interface StepRunner {
  readonly pool: pg.Pool;
  readonly workerId: string;
  readonly logger: Logger;
  /** Fires when the worker shuts down: running steps are handed back. */
  readonly shutdown: AbortSignal;
  /** Running steps by job id, so a cancel can reach their signals. */
  readonly running: Map<string, Set<AbortController>>;
  /** Appends progress and log events of running steps, group-committed. */
  readonly appender: Appender;
  /** Starts steps (pipelines.start_steps), batching concurrent starts. */
  readonly start: (item: string) => Promise<StartResult>;
  /** Commits the outcomes of steps that never used their transaction, batching concurrent ones (finish-batcher.ts). */
  readonly finish: (item: FinishItem) => Promise<FinishResult>;
  /** Called when a step found its pipeline paused: refresh the forbidden flags now. */
  readonly onPaused: () => Promise<void>;
  /** Largest event, bytes (config.maxEventBytes). */
  readonly maxEventBytes: number;
}

/** Why a step's signal fired. */
export class StepAborted extends Error {
  constructor(readonly why: 'cancelled' | 'timeout' | 'shutdown', message: string) {
    super(message);
    this.name = 'StepAborted';
  }
}

/**
 * Runs one delivery of one step (a graphile-worker job): `step.started` in its
 * own transaction, then the handler, its outcome events and the queueing of
 * the steps that became ready in one transaction. Handled outcomes, failures
 * included, return normally; retries are ours, not graphile-worker's.
 */
export async function runStep(runner: StepRunner, pipeline: Pipeline, payload: StepPayload): Promise<void> {
  const step = pipeline.byName.get(payload.step);
  if (!step) {
    runner.logger.error({ pipeline: pipeline.name, step: payload.step }, 'step job names a step this pipeline does not have; dropped');
    return;
  }
  const { jobId, attempt } = payload;
  const ref = { jobId, pipeline: pipeline.name, step: step.name, attempt };
  const started = await startStep(runner, pipeline, step, payload);
  if (started.status === 'paused') {
    // start_steps queued it again; stop fetching the paused pipeline's steps.
    await runner.onPaused();
    return;
  }
  if (started.status !== 'started') return;
  try {
    await runStarted(runner, pipeline, step, payload, started);
  } finally {
    // The throttle slot ends with the step, however it ended. Should this
    // fail or the worker die, the slot goes stale with the worker (admit_steps).
    if (started.slot) {
      await runner.pool
        .query('delete from pipelines.step_slots where job_id = $1 and step = $2', [jobId, step.name])
        .catch((error: Error) => runner.logger.warn({ err: error, jobId, step: step.name }, 'could not free a throttle slot'));
    }
  }
}

async function runStarted(runner: StepRunner, pipeline: Pipeline, step: CompiledStep, payload: StepPayload, started: StartResult): Promise<void> {
  const { jobId, attempt } = payload;
  const ref = { jobId, pipeline: pipeline.name, step: step.name, attempt };

  const controller = new AbortController();
  let jobControllers = runner.running.get(jobId);
  if (!jobControllers) runner.running.set(jobId, (jobControllers = new Set()));
  jobControllers.add(controller);
  const timeout = setTimeout(
    () => controller.abort(new StepAborted('timeout', `step timed out after ${step.timeoutMs} ms`)),
    step.timeoutMs,
  );
  const onShutdown = () => controller.abort(new StepAborted('shutdown', 'worker is shutting down'));
  runner.shutdown.addEventListener('abort', onShutdown);
  if (runner.shutdown.aborted) onShutdown();

  const t0 = performance.now();
  const client = await runner.pool.connect();
  let settled = true;
  let usage: { tokens: number; costUsd: number } | undefined;
  const stepLog = createStepLog(async (lines, dropped) => {
    await runner.appender.append([jobEvent('step.log', { ...ref, lines, dropped })]);
  });
  const transaction = lazyTransaction(client);
  try {
    const context: StepContext = {
      ...ref,
      input: started.input,
      outputs: started.outputs ?? {},
      db: client,
      signal: controller.signal,
      progress: async (percent, message) => {
        const data = { ...ref, percent: Math.max(0, Math.min(100, percent)), ...(message === undefined ? {} : { message }) };
        await runner.appender.append([jobEvent('step.progress', data)]);
      },
      usage: (tokens, costUsd) => {
        usage = { tokens, costUsd };
      },
      log: stepLog.log,
    };
    settled = false;
    const output = (await untilAborted(step.handler(context), controller.signal)) ?? null;
    settled = true;
    // The lines land before the step's outcome, so a reader sees them under a running step.
    await stepLog.close();
    const outputBytes = jsonBytes(output);
    const values = [jobId, step.name, attempt, runner.workerId, JSON.stringify(output), outputBytes] as const;
    const durationMs = Math.round(performance.now() - t0);
    const outcomeOf = (finish: FinishResult) => {
      const measured = { durationMs, outputBytes, usage };
      const { specs, events } = outcome(runner.workerId, pipeline, step, ref, started.priority ?? 'normal', finish, measured);
      return { specs, eventsJson: eventsPayload(events, runner.maxEventBytes) };
    };
    if (!transaction.begun && values[4].length <= INLINE_LIMIT) {
      // Nothing of the handler's to commit: join the other finishing steps' transaction.
      transaction.restore();
      await runner.finish({ values, client, outcome: outcomeOf });
      return;
    }
    const finish = await transaction.finishStep<FinishResult>(values);
    if (finish.status !== 'ok') {
      // A duplicate delivery, or the job was cancelled or failed meanwhile:
      // none of this attempt's effects may stay.
      await client.query('rollback');
      return;
    }
    const { specs, eventsJson } = outcomeOf(finish);
    await appendWithJobsAndCommit(client, specs, eventsJson);
  } catch (thrown) {
    await client.query('rollback').catch(() => {});
    await stepLog.close();
    const error = coerceError(thrown);
    const reason = controller.signal.reason as unknown;
    if (reason instanceof StepAborted && reason.why === 'cancelled') return;
    if (reason instanceof StepAborted && reason.why === 'shutdown') {
      // Hand the step back unchanged: another worker (or this one, later) runs it.
      await runner.pool.query('select pipelines.hand_back($1, $2::json)', [jobId, JSON.stringify(redeliverySpec(pipeline.name, payload))]);
      return;
    }
    const message = reason instanceof StepAborted ? reason.message : error.message;
    await recordFailure(runner, pipeline, step, ref, message, Math.round(performance.now() - t0));
  } finally {
    clearTimeout(timeout);
    runner.shutdown.removeEventListener('abort', onShutdown);
    jobControllers.delete(controller);
    if (jobControllers.size === 0) runner.running.delete(jobId);
    transaction.restore();
    // A handler that ignored its signal may still be using the client: destroy it.
    client.release(settled ? undefined : new Error('step handler did not settle'));
  }
}

interface Ref {
  readonly jobId: string;
  readonly pipeline: string;
  readonly step: string;
  readonly attempt: number;
}

async function startStep(runner: StepRunner, pipeline: Pipeline, step: CompiledStep, payload: StepPayload): Promise<StartResult> {
  const ref = { jobId: payload.jobId, pipeline: pipeline.name, step: step.name, attempt: payload.attempt };
  const agent = step.agentType === undefined ? {} : { agentType: step.agentType };
  const events = eventsPayload([jobEvent('step.started', { ...ref, workerId: runner.workerId, queue: payload.queue, ...agent })], runner.maxEventBytes);
  // Only a root step can be the first of its job to start.
  const jobStarted = step.needs.length === 0 ? eventsPayload([jobEvent('job.started', { jobId: ref.jobId, pipeline: ref.pipeline })], runner.maxEventBytes) : '[]';
  const item = JSON.stringify({ jobId: ref.jobId, step: ref.step, needs: step.needs, spec: redeliverySpec(pipeline.name, payload) });
  return runner.start(`${item.slice(0, -1)},"events":${events},"jobStarted":${jobStarted}}`);
}

function outcome(
  workerId: string,
  pipeline: Pipeline,
  step: CompiledStep,
  ref: Ref,
  jobPriority: Priority,
  finish: FinishResult,
  measured: { durationMs: number; outputBytes: number; usage: { tokens: number; costUsd: number } | undefined },
): { specs: JobSpec[]; events: NewEvent[] } {
  const inputBytes = step.needs.reduce((sum, need) => sum + (finish.bytes[need] ?? 0), 0);
  const events: NewEvent[] = [
    jobEvent('step.completed', {
      ...ref,
      workerId,
      durationMs: measured.durationMs,
      inputBytes,
      outputBytes: measured.outputBytes,
      next: finish.ready,
      ...(step.agentType === undefined ? {} : { agentType: step.agentType }),
      ...(measured.usage === undefined ? {} : { tokens: measured.usage.tokens, costUsd: measured.usage.costUsd }),
    }),
  ];
  const specs: JobSpec[] = [];
  const now = new Date();
  for (const name of finish.ready) {
    const next = pipeline.byName.get(name)!;
    const inputsFrom = next.needs.map((need) => ({ step: need, bytes: finish.bytes[need] ?? 0 }));
    const queued = queueStep({
      jobId: ref.jobId,
      pipeline: pipeline.name,
      jobPriority,
      step: planStep(next),
      attempt: 1,
      runAt: now,
      inputsFrom,
      inputBytes: inputsFrom.reduce((sum, from) => sum + from.bytes, 0),
    });
    specs.push(queued.spec);
    events.push(queued.event);
  }
  if (finish.completed) {
    const sinks = pipeline.steps.filter((s) => s.dependents.length === 0);
    events.push(
      jobEvent('job.completed', {
        jobId: ref.jobId,
        pipeline: pipeline.name,
        durationMs: finish.durationMs,
        outputBytes: sinks.reduce((sum, s) => sum + (finish.bytes[s.name] ?? 0), 0),
      }),
    );
  }
  return { specs, events };
}

const planStep = (step: CompiledStep): PlanStep => ({
  name: step.name,
  needs: step.needs,
  priority: step.priority ?? null,
  maxAttempts: step.maxAttempts,
});

/**
 * `step.failed`, then either `step.retrying` with the step queued again after
 * the backoff, or (no attempts left) `job.failed`: the job goes to the dead
 * letters and its other queued steps are removed.
 */
async function recordFailure(
  runner: StepRunner,
  pipeline: Pipeline,
  step: CompiledStep,
  ref: Ref,
  message: string,
  durationMs: number,
): Promise<void> {
  const error = message.slice(0, 2000);
  const final = ref.attempt >= step.maxAttempts;
  await withTransaction(runner.pool, async (client) => {
    if (final) await holdStepStarts(client);
    const { rows } = await client.query<{ state: string; priority: Priority; plan: PlanStep[] }>(
      'select state, priority, plan from pipelines.jobs where job_id = $1 for update',
      [ref.jobId],
    );
    const job = rows[0];
    if (!job || job.state !== 'running') return;
    const events: NewEvent[] = [jobEvent('step.failed', { ...ref, workerId: runner.workerId, durationMs, error, final })];
    const specs: JobSpec[] = [];
    if (!final) {
      const delayMs = Math.min(step.maxBackoffMs, step.backoffMs * 2 ** (ref.attempt - 1));
      const runAt = new Date(Date.now() + delayMs);
      const { rows: sizes } = await client.query<{ step: string; output_bytes: number }>(
        'select step, output_bytes from pipelines.step_runs where job_id = $1 and step = any($2)',
        [ref.jobId, step.needs],
      );
      const inputsFrom = step.needs.map((need) => ({ step: need, bytes: sizes.find((row) => row.step === need)?.output_bytes ?? 0 }));
      const queued = queueStep({
        jobId: ref.jobId,
        pipeline: pipeline.name,
        jobPriority: job.priority,
        step: planStep(step),
        attempt: ref.attempt + 1,
        runAt,
        inputsFrom,
        inputBytes: inputsFrom.reduce((sum, from) => sum + from.bytes, 0),
      });
      events.push(jobEvent('step.retrying', { ...ref, nextAttempt: ref.attempt + 1, runAt: runAt.toISOString(), delayMs }), queued.event);
      specs.push(queued.spec);
    } else {
      await client.query(
        `update pipelines.jobs set state = 'failed', failed_step = $2, error = $3, finished_at = now() where job_id = $1`,
        [ref.jobId, step.name, error],
      );
      await client.query('select graphile_worker.remove_job(k) from unnest($1::text[]) k', [
        job.plan.map((s) => stepJobKey(ref.jobId, s.name)).filter((key) => key !== stepJobKey(ref.jobId, step.name)),
      ]);
      events.push(jobEvent('job.failed', { jobId: ref.jobId, pipeline: pipeline.name, step: step.name, error, attempts: ref.attempt }));
    }
    await appendWithJobs(client, specs, eventsPayload(events, runner.maxEventBytes));
  });
}

/** Resolves like `work`, or rejects with the signal's reason as soon as it fires. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
