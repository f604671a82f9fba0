/**
 * The catalogue of events runledger writes to the ledger. Pipelines and
 * workers append them; projections read them. Every event's `data` carries
 * the ids it is about, so a consumer never needs another event to place it.
 *
 * Streams: `job/<jobId>` for job and step events, `worker/<workerId>`,
 * `queue/<queue or pipeline or "*">`, `alert/<alertId>`.
 */

export type Priority = 'high' | 'normal' | 'background';

/** graphile-worker queue name for each priority; the dashboard groups queue depth by these. */
export const QUEUES: Record<Priority, string> = {
  high: 'high',
  normal: 'normal',
  background: 'background',
};

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

interface JobRef {
  readonly jobId: string;
  readonly pipeline: string;
}

interface StepRef extends JobRef {
  readonly step: string;
  /** 1 for the first run, 2 for the first retry, … */
  readonly attempt: number;
}

export interface EventData {
  'job.created': JobRef & {
    readonly input: unknown;
    readonly inputBytes: number;
    readonly priority: Priority;
    /** Step names in definition order. */
    readonly steps: readonly string[];
  };
  'job.started': JobRef;
  'job.completed': JobRef & { readonly durationMs: number; readonly outputBytes: number };
  'job.failed': JobRef & { readonly step: string; readonly error: string; readonly attempts: number };
  'job.cancelled': JobRef & { readonly reason: string };
  /** A dead-lettered (failed) job sent back to work; `steps` are the steps queued again. */
  'job.retried': JobRef & { readonly steps: readonly string[] };
  /**
   * A finished job leaves the live read model for the archive tables
   * (src/projections); appended by the retention maintenance task. Final:
   * an archived job is not retried.
   */
  'job.archived': JobRef & { readonly reason: 'retention' | 'max_jobs' };

  'step.queued': StepRef & {
    readonly queue: string;
    readonly priority: Priority;
    /** ISO time the step may start (later than now for retries). */
    readonly runAt: string;
    /** Steps whose outputs flow into this one, with their output sizes: the data flow. */
    readonly inputsFrom: readonly { readonly step: string; readonly bytes: number }[];
    readonly inputBytes: number;
  };
  'step.started': StepRef & {
    readonly workerId: string;
    readonly queue: string;
    readonly agentType?: string;
  };
  'step.progress': StepRef & { readonly percent: number; readonly message?: string };
  /**
   * Lines a step handler wrote with `ctx.log`, in batches. `dropped` counts
   * the lines of this attempt refused so far beyond the per-attempt cap.
   */
  'step.log': StepRef & {
    readonly lines: readonly { readonly at: string; readonly level: LogLevel; readonly message: string; readonly fields?: Record<string, unknown> }[];
    readonly dropped: number;
  };
  'step.completed': StepRef & {
    readonly workerId: string;
    readonly durationMs: number;
    readonly inputBytes: number;
    readonly outputBytes: number;
    /** Steps that became ready because of this one. */
    readonly next: readonly string[];
    readonly agentType?: string;
    readonly tokens?: number;
    readonly costUsd?: number;
  };
  'step.failed': StepRef & {
    readonly workerId: string;
    readonly durationMs: number;
    readonly error: string;
    /** True when no attempts are left (the job fails with it). */
    readonly final: boolean;
  };
  'step.retrying': StepRef & { readonly nextAttempt: number; readonly runAt: string; readonly delayMs: number };

  'worker.started': {
    readonly workerId: string;
    readonly host: string;
    readonly pid: number;
    readonly concurrency: number;
    readonly pipelines: readonly string[];
  };
  'worker.stopped': { readonly workerId: string; readonly reason: string };
  /** Declared by a sweeper after silence longer than the TTL; its locked steps were released. */
  'worker.offline': { readonly workerId: string; readonly lastSeenAt: string; readonly releasedSteps: number };
  'worker.online': { readonly workerId: string };
  'worker.load': {
    readonly workerId: string;
    readonly runningSteps: number;
    readonly rssBytes: number;
    readonly cpuPercent: number;
  };

  /** `pipeline` null means everything is paused, unless `queue` names the one queue (high, normal, background) paused. */
  'queue.paused': { readonly pipeline: string | null; readonly queue?: string; readonly reason?: string };
  'queue.resumed': { readonly pipeline: string | null; readonly queue?: string };
  // Operator actions (the operators' API, src/api). Their metadata carries
  // actor (the token's name), reason and requestId.
  /**
   * A pipeline's or a queue's run-time limits were set: at most `maxRunning`
   * steps running at once, at most `startsPerSecond` step starts a second,
   * across all workers. Both null: the throttle was lifted.
   */
  'queue.throttled': {
    readonly pipeline: string | null;
    readonly queue: string | null;
    readonly maxRunning: number | null;
    readonly startsPerSecond: number | null;
    readonly reason?: string;
  };

  'alert.raised': {
    readonly alertId: string;
    readonly kind: 'queue_depth' | 'worker_offline';
    readonly severity: 'warning' | 'critical';
    /** The queue name or worker id the alert is about. */
    readonly subject: string;
    readonly message: string;
    readonly value?: number;
    readonly threshold?: number;
  };
  'alert.cleared': {
    readonly alertId: string;
    readonly kind: 'queue_depth' | 'worker_offline';
    readonly subject: string;
  };
}

export type EventType = keyof EventData;

export const EVENT_TYPES = [
  'job.created', 'job.started', 'job.completed', 'job.failed', 'job.cancelled', 'job.retried', 'job.archived',
  'step.queued', 'step.started', 'step.progress', 'step.log', 'step.completed', 'step.failed', 'step.retrying',
  'worker.started', 'worker.stopped', 'worker.offline', 'worker.online', 'worker.load',
  'queue.paused', 'queue.resumed', 'queue.throttled', 'alert.raised', 'alert.cleared',
] as const satisfies readonly EventType[];

/** A typed event ready for `append`. */
export interface TypedNewEvent<T extends EventType = EventType> {
  readonly streamType: 'job' | 'worker' | 'queue' | 'alert';
  readonly streamId: string;
  readonly type: T;
  readonly data: EventData[T];
  readonly metadata?: {
    readonly actor?: string;
    readonly correlationId?: string;
    readonly causationId?: string;
    /** Operator actions: why, and the HTTP request that asked for it. */
    readonly reason?: string;
    readonly requestId?: string;
  };
}
