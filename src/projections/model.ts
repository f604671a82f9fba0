/**
 * The shape of the read model, shared by the tables (src/projections/tables.ts),
 * snapshots and the client-side reducer. Imports nothing, so it runs in the
 * browser too. Times are ISO-8601 strings in UTC with milliseconds.
 */

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'queued' | 'running' | 'retrying' | 'completed' | 'failed' | 'cancelled';

export interface JobRow {
  id: string;
  pipeline: string | null;
  status: string;
  priority: string | null;
  /** Step names in definition order. */
  steps: string[];
  /** Steps running now (sorted). */
  currentSteps: string[];
  completedSteps: number;
  totalSteps: number;
  /** 0..100, completed steps over total steps. */
  progress: number;
  /** 1, plus one for each retry from the dead-letter view. */
  attempts: number;
  inputBytes: number | null;
  outputBytes: number | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
  failedStep: string | null;
  cancelReason: string | null;
  createdOffset: number | null;
  updatedOffset: number;
}

export interface StepRow {
  jobId: string;
  step: string;
  pipeline: string | null;
  status: string;
  attempt: number;
  queue: string | null;
  priority: string | null;
  workerId: string | null;
  agentType: string | null;
  queuedAt: string | null;
  runAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  inputBytes: number | null;
  outputBytes: number | null;
  /** Steps whose outputs flow into this one. */
  inputsFrom: { step: string; bytes: number }[];
  tokens: number | null;
  costUsd: number | null;
  percent: number | null;
  message: string | null;
  error: string | null;
  updatedOffset: number;
}

export interface WorkerRow {
  id: string;
  status: string;
  host: string | null;
  pid: number | null;
  concurrency: number | null;
  pipelines: string[];
  startedAt: string | null;
  lastSeenAt: string | null;
  stoppedAt: string | null;
  stopReason: string | null;
  /** `jobId/step` of the steps it runs now (sorted). */
  runningSteps: string[];
  completed: number;
  failed: number;
  loadRunning: number | null;
  loadRssBytes: number | null;
  loadCpuPercent: number | null;
  loadAt: string | null;
  updatedOffset: number;
}

/** Steps waiting to run (queued, or waiting for a retry) by queue and pipeline. Rows with depth 0 do not exist. */
export interface QueueRow {
  queue: string;
  pipeline: string;
  depth: number;
}

export interface PauseRow {
  /** A pipeline, or `*` for everything. */
  pipeline: string;
  paused: boolean;
  reason: string | null;
  changedAt: string | null;
  updatedOffset: number;
}

export interface AlertRow {
  id: string;
  kind: string | null;
  severity: string | null;
  subject: string | null;
  message: string | null;
  value: number | null;
  threshold: number | null;
  raisedAt: string | null;
  raisedOffset: number;
  clearedAt: string | null;
}

/**
 * Numeric counters by row id:
 * - `jobs/<pipeline>`: jobs by status (maintained by the reducer from job status changes);
 * - `durations/<pipeline>/<step>`: completed step durations: count, sumMs, maxMs, b0..b15 (see DURATION_BUCKETS_MS);
 * - `steps-per-minute/<pipeline>`, `jobs-per-minute/<pipeline>`: completions keyed by minute `YYYY-MM-DDTHH:MM`,
 *   the last THROUGHPUT_WINDOW_MINUTES minutes before the pipeline's newest completion.
 */
export type StatsRow = Record<string, number>;

export interface Model {
  jobs: Record<string, JobRow>;
  /** Keyed `jobId/step`. */
  steps: Record<string, StepRow>;
  /** Every running worker, and the RECENT_GONE_WORKERS most recently stopped or offline ones. */
  workers: Record<string, WorkerRow>;
  /** Keyed `queue/pipeline`. */
  queues: Record<string, QueueRow>;
  pauses: Record<string, PauseRow>;
  stats: Record<string, StatsRow>;
  /** The RECENT_ALERTS most recently raised alerts. */
  alerts: Record<string, AlertRow>;
}

export interface Snapshot {
  /** The ledger position the model is consistent at. */
  readonly offset: number;
  readonly model: Model;
}

/** Upper bounds (ms) of the step-duration histogram buckets; the last bucket is open. */
export const DURATION_BUCKETS_MS = [
  10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 60_000, 120_000, 300_000, 600_000,
] as const;
export const THROUGHPUT_WINDOW_MINUTES = 60;
export const RECENT_ALERTS = 50;
/** Workers that stopped or went offline stay in the model, the most recently changed this many; older ones leave it. */
export const RECENT_GONE_WORKERS = 20;
export const GONE_WORKER_STATUSES: readonly string[] = ['stopped', 'offline'];
/** Step statuses counted in queue depth. */
export const WAITING_STATUSES: readonly string[] = ['queued', 'retrying'];

export function emptyModel(): Model {
  return { jobs: {}, steps: {}, workers: {}, queues: {}, pauses: {}, stats: {}, alerts: {} };
}

export const stepKey = (jobId: string, step: string) => `${jobId}/${step}`;
export const queueKey = (queue: string, pipeline: string) => `${queue}/${pipeline}`;

/** Index of the histogram bucket a duration falls in. */
export function durationBucket(ms: number): number {
  let index = 0;
  while (index < DURATION_BUCKETS_MS.length && ms > DURATION_BUCKETS_MS[index]!) index += 1;
  return index;
}

/**
 * The p-th percentile (0..100) of a `durations/...` stats row, interpolated
 * linearly inside its bucket; null when nothing was recorded.
 */
export function durationPercentile(row: StatsRow | undefined, p: number): number | null {
  const count = row?.count ?? 0;
  if (!row || count <= 0) return null;
  const rank = (p / 100) * count;
  let seen = 0;
  for (let index = 0; index <= DURATION_BUCKETS_MS.length; index += 1) {
    const inBucket = row[`b${index}`] ?? 0;
    if (inBucket > 0 && seen + inBucket >= rank) {
      const lower = index === 0 ? 0 : DURATION_BUCKETS_MS[index - 1]!;
      const upper = Math.min(DURATION_BUCKETS_MS[index] ?? Infinity, row.maxMs ?? Infinity);
      const fraction = (rank - seen) / inBucket;
      return Math.round(Math.max(lower, Math.min(upper, lower + (upper - lower) * fraction)));
    }
    seen += inBucket;
  }
  return row.maxMs ?? null;
}

export function emptyJob(id: string): JobRow {
  return {
    id, pipeline: null, status: 'queued', priority: null, steps: [], currentSteps: [], completedSteps: 0,
    totalSteps: 0, progress: 0, attempts: 1, inputBytes: null, outputBytes: null, createdAt: null, startedAt: null,
    finishedAt: null, durationMs: null, error: null, failedStep: null, cancelReason: null, createdOffset: null,
    updatedOffset: 0,
  };
}

export function emptyStep(key: string): StepRow {
  const slash = key.indexOf('/');
  return {
    jobId: key.slice(0, slash), step: key.slice(slash + 1), pipeline: null, status: 'pending', attempt: 0,
    queue: null, priority: null, workerId: null, agentType: null, queuedAt: null, runAt: null, startedAt: null,
    finishedAt: null, durationMs: null, inputBytes: null, outputBytes: null, inputsFrom: [], tokens: null,
    costUsd: null, percent: null, message: null, error: null, updatedOffset: 0,
  };
}

export function emptyWorker(id: string): WorkerRow {
  return {
    id, status: 'unknown', host: null, pid: null, concurrency: null, pipelines: [], startedAt: null,
    lastSeenAt: null, stoppedAt: null, stopReason: null, runningSteps: [], completed: 0, failed: 0,
    loadRunning: null, loadRssBytes: null, loadCpuPercent: null, loadAt: null, updatedOffset: 0,
  };
}

export function emptyPause(pipeline: string): PauseRow {
  return { pipeline, paused: false, reason: null, changedAt: null, updatedOffset: 0 };
}

export function emptyAlert(id: string): AlertRow {
  return {
    id, kind: null, severity: null, subject: null, message: null, value: null, threshold: null, raisedAt: null,
    raisedOffset: 0, clearedAt: null,
  };
}

/** Queue depth as the reducer maintains it, computed from step rows (used for slices). */
export function queuesFromSteps(steps: Record<string, StepRow>): Record<string, QueueRow> {
  const queues: Record<string, QueueRow> = {};
  for (const step of Object.values(steps)) {
    if (!WAITING_STATUSES.includes(step.status)) continue;
    const queue = step.queue ?? 'unknown';
    const pipeline = step.pipeline ?? '?';
    const row = (queues[queueKey(queue, pipeline)] ??= { queue, pipeline, depth: 0 });
    row.depth += 1;
  }
  return queues;
}

/** `jobs/<pipeline>` stats rows as the reducer maintains them, computed from job rows (used for slices). */
export function jobCountsFromJobs(jobs: Record<string, JobRow>): Record<string, StatsRow> {
  const stats: Record<string, StatsRow> = {};
  for (const job of Object.values(jobs)) {
    const row = (stats[`jobs/${job.pipeline ?? '?'}`] ??= {});
    row[job.status] = (row[job.status] ?? 0) + 1;
  }
  return stats;
}

export interface DurationSummary {
  readonly pipeline: string;
  readonly step: string;
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly maxMs: number | null;
}

export interface Summary {
  /** Jobs by status over every pipeline. */
  readonly jobsByStatus: Record<string, number>;
  /** Waiting steps by queue over every pipeline. */
  readonly queueDepth: Record<string, number>;
  readonly durations: DurationSummary[];
  /** Completions by minute (`YYYY-MM-DDTHH:MM`) over every pipeline. */
  readonly stepsPerMinute: Record<string, number>;
  readonly jobsPerMinute: Record<string, number>;
}

/** The dashboard's headline numbers, derived from a model (whole or sliced) by pure arithmetic. */
export function summarize(model: Model): Summary {
  const jobsByStatus: Record<string, number> = {};
  const stepsPerMinute: Record<string, number> = {};
  const jobsPerMinute: Record<string, number> = {};
  const durations: DurationSummary[] = [];
  const add = (target: Record<string, number>, row: StatsRow) => {
    for (const key in row) target[key] = (target[key] ?? 0) + row[key]!;
  };
  for (const [id, row] of Object.entries(model.stats)) {
    const [kind, pipeline = '', ...step] = id.split('/');
    if (kind === 'jobs') add(jobsByStatus, row);
    else if (kind === 'steps-per-minute') add(stepsPerMinute, row);
    else if (kind === 'jobs-per-minute') add(jobsPerMinute, row);
    else if (kind === 'durations') {
      durations.push({
        pipeline, step: step.join('/'), count: row.count ?? 0, p50: durationPercentile(row, 50),
        p95: durationPercentile(row, 95), maxMs: row.maxMs ?? null,
      });
    }
  }
  durations.sort((a, b) => (a.pipeline + a.step < b.pipeline + b.step ? -1 : 1));
  const queueDepth: Record<string, number> = {};
  for (const row of Object.values(model.queues)) queueDepth[row.queue] = (queueDepth[row.queue] ?? 0) + row.depth;
  return { jobsByStatus, queueDepth, durations, stepsPerMinute, jobsPerMinute };
}
