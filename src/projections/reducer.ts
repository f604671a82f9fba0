/**
 * The reducer: applies deltas to a model. The projector, the rebuild and
 * every client (the dashboard page included) run this same code, which is
 * what makes `reduce(snapshot(N), deltas(N..M))` equal `snapshot(M)`.
 *
 * Dependency-free (no node: imports, no libraries): it runs in the browser.
 *
 * Besides applying each patch, the reducer keeps three derived things in
 * step, from the rows it already holds:
 * - queue depth: steps entering or leaving a waiting status (queued, retrying)
 *   move the depth of their `queue/pipeline` row; rows at 0 are removed;
 * - job counts: a job changing status moves the `jobs/<pipeline>` stats row;
 *   zero counts are removed;
 * - a job becoming cancelled cancels its steps that had not finished;
 * and it keeps only the RECENT_ALERTS most recently raised alerts and the
 * RECENT_GONE_WORKERS most recently stopped or offline workers.
 *
 * An `archive` patch (from `job.archived`) takes a job and its steps out of
 * the model; they are handed to the caller in `touched.archived` so the
 * projector and the rebuild can write them to the archive tables.
 */
import type { Delta, Entity, Patch } from './delta.js';
import {
  GONE_WORKER_STATUSES, RECENT_ALERTS, RECENT_GONE_WORKERS, WAITING_STATUSES, emptyAlert, emptyJob, emptyModel, emptyPause, emptyStep, emptyWorker, queueKey,
  stepKey, type JobRow, type Model, type StepRow,
} from './model.js';

export { emptyModel };
export type { Model };

/** Rows written or removed while applying, by entity: what the projector must save. */
export type Touched = Record<Entity, Set<string>> & {
  /** Jobs (with their steps) that `job.archived` took out of the model, as they were then: what goes to the archive. */
  readonly archived: Map<string, ArchivedJob>;
};

export interface ArchivedJob {
  readonly job: JobRow;
  readonly steps: StepRow[];
}

export function newTouched(): Touched {
  return {
    job: new Set(), step: new Set(), worker: new Set(), queue: new Set(), pause: new Set(), stats: new Set(),
    alert: new Set(), archived: new Map(),
  };
}

/** Empties `touched` in place. */
export function clearTouched(touched: Touched): void {
  for (const key in touched) (touched as unknown as Record<string, Set<string> | Map<string, unknown>>)[key]!.clear();
}

/** A slice of the model: one job, one pipeline, or both. */
export interface Slice {
  readonly jobId?: string;
  readonly pipeline?: string;
}

/** Whether a delta belongs to a slice; a sliced client applies exactly the deltas that match. */
export function matchesSlice(delta: Delta, slice: Slice): boolean {
  if (slice.jobId !== undefined && delta.jobId !== slice.jobId) return false;
  if (slice.pipeline !== undefined && delta.pipeline !== slice.pipeline) return false;
  return true;
}

/** Applies deltas in order, changing `model` in place, and returns it. */
export function applyDeltas(model: Model, deltas: readonly Delta[], touched?: Touched): Model {
  for (const delta of deltas) applyDelta(model, delta, touched);
  return model;
}

type Row = Record<string, unknown>;
type Table = Record<string, Row>;

const TABLES: Record<Entity, keyof Model> = {
  job: 'jobs', step: 'steps', worker: 'workers', queue: 'queues', pause: 'pauses', stats: 'stats', alert: 'alerts',
};

const CREATE: Record<Entity, (id: string) => Row> = {
  job: (id) => emptyJob(id) as unknown as Row,
  step: (id) => emptyStep(id) as unknown as Row,
  worker: (id) => emptyWorker(id) as unknown as Row,
  queue: (id) => ({ queue: id.slice(0, id.indexOf('/')), pipeline: id.slice(id.indexOf('/') + 1), depth: 0 }),
  pause: (id) => emptyPause(id) as unknown as Row,
  stats: () => ({}),
  alert: (id) => emptyAlert(id) as unknown as Row,
};

const HAS_UPDATED_OFFSET: ReadonlySet<Entity> = new Set(['job', 'step', 'worker', 'pause']);

export function applyDelta(model: Model, delta: Delta, touched?: Touched): void {
  const table = model[TABLES[delta.entity]] as unknown as Table;
  const existing = table[delta.id];
  if (delta.patch.archive) {
    if (existing !== undefined && delta.entity === 'job') archiveJob(model, existing as unknown as JobRow, touched);
    return;
  }
  if (existing === undefined && delta.patch.existing) return;
  const row = existing ?? CREATE[delta.entity](delta.id);
  // Only what the derived counts depend on.
  const derived = delta.entity === 'job' || delta.entity === 'step';
  const before = existing !== undefined && derived ? ({ status: row.status, pipeline: row.pipeline, queue: row.queue } as Before) : undefined;
  patchRow(row, delta.patch);
  if (HAS_UPDATED_OFFSET.has(delta.entity)) row.updatedOffset = delta.offset;
  table[delta.id] = row;
  touched?.[delta.entity].add(delta.id);

  if (delta.entity === 'job') afterJob(model, before, row as unknown as JobRow, delta.offset, touched);
  else if (delta.entity === 'step') afterStep(model, before, row as unknown as StepRow, touched);
  else if (delta.entity === 'alert' && existing === undefined) evictAlerts(model, touched);
  else if (delta.entity === 'worker' && makesWorkerGone(delta)) evictGoneWorkers(model, touched);
}

/** Whether a delta stops a worker or takes it offline: decided by the delta alone, so the projector knows to load every worker. */
export function makesWorkerGone(delta: Delta): boolean {
  const status = delta.patch.set?.status;
  return delta.entity === 'worker' && typeof status === 'string' && GONE_WORKER_STATUSES.includes(status);
}

function evictGoneWorkers(model: Model, touched?: Touched): void {
  const gone = Object.values(model.workers).filter((worker) => GONE_WORKER_STATUSES.includes(worker.status));
  if (gone.length <= RECENT_GONE_WORKERS) return;
  // Oldest first by the offset that last changed them; the id breaks ties.
  gone.sort((a, b) => a.updatedOffset - b.updatedOffset || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const worker of gone.slice(0, gone.length - RECENT_GONE_WORKERS)) {
    delete model.workers[worker.id];
    touched?.worker.add(worker.id);
  }
}

function patchRow(row: Row, patch: Patch): void {
  // Nested values (arrays, objects) are never changed in place, only
  // replaced, so rows may share them with the patch.
  if (patch.set) for (const field in patch.set) row[field] = patch.set[field];
  if (patch.init) for (const field in patch.init) if (row[field] === null || row[field] === undefined) row[field] = patch.init[field];
  if (patch.inc) for (const field in patch.inc) row[field] = ((row[field] as number | undefined) ?? 0) + patch.inc[field]!;
  if (patch.max) {
    for (const field in patch.max) {
      const current = row[field] as number | undefined;
      row[field] = current === undefined || current === null ? patch.max[field]! : Math.max(current, patch.max[field]!);
    }
  }
  if (patch.add) for (const field in patch.add) row[field] = addToSet(row[field] as string[] | undefined, patch.add[field]!);
  if (patch.del) for (const field in patch.del) row[field] = ((row[field] as string[] | undefined) ?? []).filter((v) => v !== patch.del![field]);
  if (patch.dropBelow !== undefined) {
    for (const field of Object.keys(row)) if (field < patch.dropBelow) delete row[field];
  }
}

function addToSet(set: string[] | undefined, value: string): string[] {
  if (set === undefined || set.length === 0) return [value];
  // Binary search for the insertion point: sets stay sorted without sorting again.
  let low = 0;
  let high = set.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (set[mid]! < value) low = mid + 1;
    else high = mid;
  }
  if (set[low] === value) return set;
  const out = set.slice(0, low);
  out.push(value);
  for (let i = low; i < set.length; i += 1) out.push(set[i]!);
  return out;
}

/** What the derived counts depend on, as it was before a patch. */
interface Before {
  readonly status: string;
  readonly pipeline: string | null;
  readonly queue: string | null;
}

function afterJob(model: Model, before: Before | undefined, job: JobRow, offset: number, touched?: Touched): void {
  const oldKey = before ? `jobs/${before.pipeline ?? '?'}` : undefined;
  const newKey = `jobs/${job.pipeline ?? '?'}`;
  if (!before || oldKey !== newKey || before.status !== job.status) {
    if (before) bumpCount(model, oldKey!, before.status, -1, touched);
    bumpCount(model, newKey, job.status, 1, touched);
  }
  job.progress = job.totalSteps > 0 ? Math.min(100, Math.floor((100 * job.completedSteps) / job.totalSteps)) : 0;
  if (job.status === 'cancelled' && before?.status !== 'cancelled') {
    for (const step of job.steps) {
      const key = stepKey(job.id, step);
      const row = model.steps[key];
      if (row && (row.status === 'pending' || row.status === 'running' || WAITING_STATUSES.includes(row.status))) {
        applyDelta(model, { offset, entity: 'step', id: key, type: 'job.cancelled', patch: { set: { status: 'cancelled' } } }, touched);
      }
    }
  }
}

function bumpCount(model: Model, id: string, status: string, by: number, touched?: Touched): void {
  const row = (model.stats[id] ??= {});
  const value = (row[status] ?? 0) + by;
  if (value === 0) delete row[status];
  else row[status] = value;
  if (Object.keys(row).length === 0) delete model.stats[id];
  touched?.stats.add(id);
}

function afterStep(model: Model, before: Before | undefined, step: StepRow, touched?: Touched): void {
  const wasWaiting = before !== undefined && WAITING_STATUSES.includes(before.status);
  const isWaiting = WAITING_STATUSES.includes(step.status);
  const oldKey = wasWaiting ? queueKey(before.queue ?? 'unknown', before.pipeline ?? '?') : undefined;
  const newKey = isWaiting ? queueKey(step.queue ?? 'unknown', step.pipeline ?? '?') : undefined;
  if (oldKey === newKey) return;
  if (oldKey !== undefined) bumpQueue(model, oldKey, -1, touched);
  if (newKey !== undefined) bumpQueue(model, newKey, 1, touched);
}

function bumpQueue(model: Model, key: string, by: number, touched?: Touched): void {
  const row = (model.queues[key] ??= CREATE.queue(key) as unknown as Model['queues'][string]);
  row.depth += by;
  if (row.depth === 0) delete model.queues[key];
  touched?.queue.add(key);
}

function archiveJob(model: Model, job: JobRow, touched?: Touched): void {
  const steps: StepRow[] = [];
  for (const name of job.steps) {
    const key = stepKey(job.id, name);
    const step = model.steps[key];
    if (step === undefined) continue;
    // A finished job's steps wait in no queue; this keeps depths right for one archived early.
    if (WAITING_STATUSES.includes(step.status)) bumpQueue(model, queueKey(step.queue ?? 'unknown', step.pipeline ?? '?'), -1, touched);
    delete model.steps[key];
    steps.push(step);
    touched?.step.add(key);
  }
  delete model.jobs[job.id];
  touched?.job.add(job.id);
  touched?.archived.set(job.id, { job, steps });
}

function evictAlerts(model: Model, touched?: Touched): void {
  const ids = Object.keys(model.alerts);
  if (ids.length <= RECENT_ALERTS) return;
  // Oldest first by the offset that raised them; the id breaks ties.
  ids.sort((a, b) => model.alerts[a]!.raisedOffset - model.alerts[b]!.raisedOffset || (a < b ? -1 : a > b ? 1 : 0));
  for (const id of ids.slice(0, ids.length - RECENT_ALERTS)) {
    delete model.alerts[id];
    touched?.alert.add(id);
  }
}
