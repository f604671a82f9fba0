import type { EventData, EventType } from '../events/catalogue.js';
import type { DeltaSource } from '../ledger/types.js';
import type { Delta, Json, Patch } from './delta.js';
import { THROUGHPUT_WINDOW_MINUTES, durationBucket, stepKey } from './model.js';

type Data = Record<string, unknown>;
/**
 * An event's data as read back from the ledger: the catalogue's field names
 * (so renaming a field in src/events/catalogue.ts fails to compile here), but
 * every value unchecked, since the ledger also holds events older code wrote.
 */
type Unchecked<T> = { readonly [K in keyof T]?: unknown };
type Emit = (entity: Delta['entity'], id: string, patch: Patch, tags?: { jobId?: string; pipeline?: string }) => void;

/**
 * The changes one ledger event makes to the read model: a pure function of
 * the event alone (no database, no state), so the deltas of any past offset
 * can be produced again from the ledger. Unknown event types, and known types
 * whose data lacks the ids they need, yield no deltas.
 *
 * Tags: a delta carries `jobId` / `pipeline` when its *entity* belongs to that
 * job / pipeline (not merely because the event mentions it), so filtering
 * deltas by tag gives exactly the slices `snapshot` reads.
 */
export function eventToDeltas(event: DeltaSource): Delta[] {
  const handler = Object.hasOwn(HANDLERS, event.type) ? (HANDLERS[event.type as EventType] as Handler<EventType>) : undefined;
  if (handler === undefined) return [];
  const deltas: Delta[] = [];
  const emit: Emit = (entity, id, patch, tags) => {
    const delta: { -readonly [K in keyof Delta]: Delta[K] } = { offset: event.position, entity, id, patch, type: event.type };
    if (tags?.jobId !== undefined) delta.jobId = tags.jobId;
    if (tags?.pipeline !== undefined) delta.pipeline = tags.pipeline;
    deltas.push(delta);
  };
  const data = typeof event.data === 'object' && event.data !== null ? (event.data as Data) : {};
  handler(data, iso(event.recordedAt) ?? event.recordedAt, emit, event.position);
  return deltas;
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const nonEmpty = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

const CANONICAL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A time as the tables give it back: ISO-8601 UTC with milliseconds; null when unparseable. */
function iso(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  if (CANONICAL_TIME.test(value)) return value;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** Drops undefined values so patches hold JSON only. */
function fields(values: Record<string, Json | undefined>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const key in values) if (values[key] !== undefined) out[key] = values[key]!;
  return out;
}

interface JobIds {
  jobId: string;
  pipeline: string;
  tags: { jobId: string; pipeline: string };
}

function jobIds(data: { readonly jobId?: unknown; readonly pipeline?: unknown }): JobIds | undefined {
  const jobId = nonEmpty(data.jobId);
  const pipeline = nonEmpty(data.pipeline);
  if (jobId === undefined || pipeline === undefined) return undefined;
  return { jobId, pipeline, tags: { jobId, pipeline } };
}

interface StepIds extends JobIds {
  step: string;
  key: string;
  attempt: number | null;
}

function stepIds(data: { readonly jobId?: unknown; readonly pipeline?: unknown; readonly step?: unknown; readonly attempt?: unknown }): StepIds | undefined {
  const jobId = nonEmpty(data.jobId);
  const pipeline = nonEmpty(data.pipeline);
  const step = nonEmpty(data.step);
  if (jobId === undefined || pipeline === undefined || step === undefined) return undefined;
  return { jobId, pipeline, tags: { jobId, pipeline }, step, key: stepKey(jobId, step), attempt: num(data.attempt) };
}

let lastWindow = { minute: '', dropBelow: '' };

function minuteWindow(at: string): { minute: string; dropBelow: string } {
  const minute = at.slice(0, 16);
  // Consecutive events mostly share their minute; the window is a function of it alone.
  if (minute === lastWindow.minute) return lastWindow;
  const oldest = new Date(Date.parse(`${minute}:00.000Z`) - (THROUGHPUT_WINDOW_MINUTES - 1) * 60_000).toISOString().slice(0, 16);
  lastWindow = { minute, dropBelow: oldest };
  return lastWindow;
}

type Handler<T extends EventType> = (data: Unchecked<EventData[T]>, at: string, emit: Emit, offset: number) => void;

/** One handler per catalogue event type: adding a type to the catalogue without one fails to compile. */
const HANDLERS: { readonly [T in EventType]: Handler<T> } = {
  'job.created'(data, at, emit, offset) {
    const ids = jobIds(data);
    if (!ids) return;
    const steps = strings(data.steps);
    emit('job', ids.jobId, {
      set: {
        pipeline: ids.pipeline, status: 'queued', priority: str(data.priority), steps, totalSteps: steps.length,
        inputBytes: num(data.inputBytes), createdAt: at, createdOffset: offset,
      },
    }, ids.tags);
    for (const step of steps) {
      emit('step', stepKey(ids.jobId, step), { set: { pipeline: ids.pipeline } }, ids.tags);
    }
  },
  'job.started'(data, at, emit) {
    const ids = jobIds(data);
    if (!ids) return;
    emit('job', ids.jobId, { set: { pipeline: ids.pipeline, status: 'running' }, init: { startedAt: at } }, ids.tags);
  },
  'job.completed'(data, at, emit) {
    const ids = jobIds(data);
    if (!ids) return;
    emit('job', ids.jobId, {
      set: {
        pipeline: ids.pipeline, status: 'completed', finishedAt: at, durationMs: num(data.durationMs),
        outputBytes: num(data.outputBytes), currentSteps: [], error: null, failedStep: null,
      },
    }, ids.tags);
    const { minute, dropBelow } = minuteWindow(at);
    emit('stats', `jobs-per-minute/${ids.pipeline}`, { inc: { [minute]: 1 }, dropBelow }, { pipeline: ids.pipeline });
  },
  'job.failed'(data, at, emit) {
    const ids = jobIds(data);
    if (!ids) return;
    emit('job', ids.jobId, {
      set: {
        pipeline: ids.pipeline, status: 'failed', finishedAt: at, error: str(data.error), failedStep: str(data.step),
        currentSteps: [],
      },
    }, ids.tags);
  },
  'job.cancelled'(data, at, emit) {
    const ids = jobIds(data);
    if (!ids) return;
    emit('job', ids.jobId, {
      set: { pipeline: ids.pipeline, status: 'cancelled', finishedAt: at, cancelReason: str(data.reason), currentSteps: [] },
    }, ids.tags);
  },
  'job.retried'(data, _at, emit) {
    const ids = jobIds(data);
    if (!ids) return;
    emit('job', ids.jobId, {
      set: { pipeline: ids.pipeline, status: 'running', finishedAt: null, durationMs: null, error: null, failedStep: null },
      inc: { attempts: 1 },
    }, ids.tags);
    for (const step of strings(data.steps)) {
      emit('step', stepKey(ids.jobId, step), {
        set: { pipeline: ids.pipeline, status: 'queued', finishedAt: null, error: null, workerId: null },
      }, ids.tags);
    }
  },
  'job.archived'(data, _at, emit) {
    const ids = jobIds(data);
    if (!ids) return;
    emit('job', ids.jobId, { archive: true }, ids.tags);
  },

  'step.queued'(data, at, emit) {
    const ids = stepIds(data);
    if (!ids) return;
    const inputsFrom = Array.isArray(data.inputsFrom)
      ? data.inputsFrom
          .filter((input): input is Data => typeof input === 'object' && input !== null)
          .map((input) => ({ step: str(input.step) ?? '', bytes: num(input.bytes) ?? 0 }))
      : [];
    emit('step', ids.key, {
      set: {
        pipeline: ids.pipeline, status: 'queued', attempt: ids.attempt ?? 1, queue: str(data.queue),
        priority: str(data.priority), runAt: iso(data.runAt), queuedAt: at, inputBytes: num(data.inputBytes),
        inputsFrom, workerId: null, finishedAt: null, error: null, percent: null, message: null,
      },
    }, ids.tags);
  },
  'step.started'(data, at, emit) {
    const ids = stepIds(data);
    if (!ids) return;
    const workerId = nonEmpty(data.workerId);
    emit('step', ids.key, {
      set: fields({
        pipeline: ids.pipeline, status: 'running', attempt: ids.attempt ?? 1, workerId: workerId ?? null,
        queue: str(data.queue) ?? undefined, agentType: str(data.agentType) ?? undefined, startedAt: at,
        finishedAt: null, durationMs: null, percent: 0, message: null, error: null,
      }),
    }, ids.tags);
    emit('job', ids.jobId, { set: { pipeline: ids.pipeline }, add: { currentSteps: ids.step } }, ids.tags);
    if (workerId) emit('worker', workerId, { set: { lastSeenAt: at }, add: { runningSteps: ids.key } });
  },
  'step.progress'(data, _at, emit) {
    const ids = stepIds(data);
    if (!ids) return;
    emit('step', ids.key, { set: { pipeline: ids.pipeline, percent: num(data.percent), message: str(data.message) } }, ids.tags);
  },
  'step.log'(data, _at, emit) {
    // The lines themselves stay in the ledger (GET /api/jobs/:id/events);
    // the delta tells subscribers of the job that its step logged.
    const ids = stepIds(data);
    if (!ids) return;
    emit('step', ids.key, { set: { pipeline: ids.pipeline }, existing: true }, ids.tags);
  },
  'step.completed'(data, at, emit) {
    const ids = stepIds(data);
    if (!ids) return;
    const workerId = nonEmpty(data.workerId);
    const durationMs = num(data.durationMs);
    emit('step', ids.key, {
      set: fields({
        pipeline: ids.pipeline, status: 'completed', attempt: ids.attempt ?? undefined, workerId: workerId ?? undefined,
        finishedAt: at, durationMs, inputBytes: num(data.inputBytes), outputBytes: num(data.outputBytes),
        agentType: str(data.agentType) ?? undefined, tokens: num(data.tokens), costUsd: num(data.costUsd),
        percent: 100, error: null,
      }),
    }, ids.tags);
    emit('job', ids.jobId, { set: { pipeline: ids.pipeline }, inc: { completedSteps: 1 }, del: { currentSteps: ids.step } }, ids.tags);
    if (workerId) {
      emit('worker', workerId, { set: { lastSeenAt: at }, inc: { completed: 1 }, del: { runningSteps: ids.key } });
    }
    const pipelineTag = { pipeline: ids.pipeline };
    if (durationMs !== null) {
      emit('stats', `durations/${ids.pipeline}/${ids.step}`, {
        inc: { count: 1, sumMs: durationMs, [`b${durationBucket(durationMs)}`]: 1 },
        max: { maxMs: durationMs },
      }, pipelineTag);
    }
    const { minute, dropBelow } = minuteWindow(at);
    emit('stats', `steps-per-minute/${ids.pipeline}`, { inc: { [minute]: 1 }, dropBelow }, pipelineTag);
  },
  'step.failed'(data, at, emit) {
    const ids = stepIds(data);
    if (!ids) return;
    const workerId = nonEmpty(data.workerId);
    emit('step', ids.key, {
      set: fields({
        pipeline: ids.pipeline, status: 'failed', attempt: ids.attempt ?? undefined, workerId: workerId ?? undefined,
        finishedAt: at, durationMs: num(data.durationMs), error: str(data.error),
      }),
    }, ids.tags);
    emit('job', ids.jobId, { set: { pipeline: ids.pipeline }, del: { currentSteps: ids.step } }, ids.tags);
    if (workerId) emit('worker', workerId, { set: { lastSeenAt: at }, inc: { failed: 1 }, del: { runningSteps: ids.key } });
  },
  'step.retrying'(data, _at, emit) {
    const ids = stepIds(data);
    if (!ids) return;
    emit('step', ids.key, { set: { pipeline: ids.pipeline, status: 'retrying', runAt: iso(data.runAt) } }, ids.tags);
  },

  'worker.started'(data, at, emit) {
    const workerId = nonEmpty(data.workerId);
    if (!workerId) return;
    emit('worker', workerId, {
      set: {
        status: 'online', host: str(data.host), pid: num(data.pid), concurrency: num(data.concurrency),
        pipelines: strings(data.pipelines), startedAt: at, lastSeenAt: at, stoppedAt: null, stopReason: null,
        runningSteps: [],
      },
    });
  },
  'worker.stopped'(data, at, emit) {
    const workerId = nonEmpty(data.workerId);
    if (!workerId) return;
    emit('worker', workerId, { set: { status: 'stopped', stoppedAt: at, stopReason: str(data.reason), runningSteps: [] } });
  },
  'worker.offline'(data, at, emit) {
    const workerId = nonEmpty(data.workerId);
    if (!workerId) return;
    emit('worker', workerId, { set: { status: 'offline', lastSeenAt: iso(data.lastSeenAt) ?? at, runningSteps: [] } });
  },
  'worker.online'(data, at, emit) {
    const workerId = nonEmpty(data.workerId);
    if (!workerId) return;
    emit('worker', workerId, { set: { status: 'online', lastSeenAt: at } });
  },
  'worker.load'(data, at, emit) {
    const workerId = nonEmpty(data.workerId);
    if (!workerId) return;
    emit('worker', workerId, {
      set: {
        lastSeenAt: at, loadRunning: num(data.runningSteps), loadRssBytes: num(data.rssBytes),
        loadCpuPercent: num(data.cpuPercent), loadAt: at,
      },
    });
  },

  'queue.paused'(data, at, emit) {
    const pipeline = nonEmpty(data.pipeline);
    const queue = nonEmpty(data.queue);
    if (queue) return emit('pause', `queue:${queue}`, { set: { paused: true, reason: str(data.reason), changedAt: at } });
    emit('pause', pipeline ?? '*', { set: { paused: true, reason: str(data.reason), changedAt: at } }, pipeline ? { pipeline } : undefined);
  },
  // Throttles are not in the read model: GET /api/pipelines and /api/queues
  // read them from pipelines.throttles; the event is the audit record.
  'queue.throttled'() {},
  'queue.resumed'(data, at, emit) {
    const pipeline = nonEmpty(data.pipeline);
    const queue = nonEmpty(data.queue);
    if (queue) return emit('pause', `queue:${queue}`, { set: { paused: false, reason: null, changedAt: at } });
    emit('pause', pipeline ?? '*', { set: { paused: false, reason: null, changedAt: at } }, pipeline ? { pipeline } : undefined);
  },

  'alert.raised'(data, at, emit, offset) {
    const alertId = nonEmpty(data.alertId);
    if (!alertId) return;
    emit('alert', alertId, {
      set: {
        kind: str(data.kind), severity: str(data.severity), subject: str(data.subject), message: str(data.message),
        value: num(data.value), threshold: num(data.threshold), raisedAt: at, raisedOffset: offset,
        clearedAt: null,
      },
    });
  },
  'alert.cleared'(data, at, emit) {
    const alertId = nonEmpty(data.alertId);
    if (!alertId) return;
    emit('alert', alertId, { set: { clearedAt: at }, existing: true });
  },
};
