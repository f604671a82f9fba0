import type pg from 'pg';
import type { z } from 'zod';
import type { LogLevel, Priority } from '../events/catalogue.js';

/** What a step handler receives. */
export interface StepContext<TInput = unknown> {
  readonly jobId: string;
  readonly pipeline: string;
  readonly step: string;
  /** 1 for the first run, 2 for the first retry, … */
  readonly attempt: number;
  /** The job's input, as parsed by the pipeline's schema. */
  readonly input: TInput;
  /** Outputs of the steps this one `needs`, by step name. */
  readonly outputs: Readonly<Record<string, unknown>>;
  /**
   * A client inside the step's transaction: writes made with it commit
   * together with the step's events and the queueing of the next steps, or not
   * at all. Do not COMMIT or ROLLBACK it.
   */
  readonly db: pg.PoolClient;
  /** Fires on cancel, on timeout and when the worker shuts down. */
  readonly signal: AbortSignal;
  /** Appends `step.progress` in its own short transaction (never inside the step's). */
  progress(percent: number, message?: string): Promise<void>;
  /** Token and cost usage, reported on `step.completed`. */
  usage(tokens: number, costUsd: number): void;
  /**
   * A log line, appended to the ledger as part of a `step.log` batch (in its
   * own short transaction, so the lines of a failed attempt stay). Capped per
   * attempt; lines beyond the cap are counted as dropped. Never throws.
   */
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

export interface RetryPolicy {
  /** Runs in all, the first included. (Default: 3) */
  readonly maxAttempts?: number;
  /** Delay before the first retry; doubles with each further attempt. (Default: 1000) */
  readonly backoffMs?: number;
  /** Upper bound on the delay. (Default: 60000) */
  readonly maxBackoffMs?: number;
}

export interface StepDefinition<TInput = unknown> {
  /** Lower-case letters, digits and underscores, unique within the pipeline. */
  readonly name: string;
  /** Returns the step's output (any JSON value), which flows to the steps that need it. */
  readonly handler: (context: StepContext<TInput>) => Promise<unknown>;
  /**
   * Steps that must complete first. Omitted: the previous step in the list
   * (none for the first), so a plain list runs in order. `[]` makes a root.
   */
  readonly needs?: readonly string[];
  readonly retry?: RetryPolicy;
  /** The handler's signal fires after this long; the attempt fails. (Default: 300000) */
  readonly timeoutMs?: number;
  /** Overrides the job's priority for this step. */
  readonly priority?: Priority;
  /** Simulated agent type reported on step.started/completed (demo pipelines). */
  readonly agentType?: string;
}

export interface PipelineDefinition<TSchema extends z.ZodTypeAny = z.ZodTypeAny> {
  /** Lower-case letters, digits and underscores. */
  readonly name: string;
  readonly input: TSchema;
  readonly steps: readonly StepDefinition<z.infer<TSchema>>[];
  /** Priority of the pipeline's jobs unless createJob says otherwise. (Default: normal) */
  readonly priority?: Priority;
}

/** A step with its defaults filled in and its edges resolved. */
export interface CompiledStep {
  readonly name: string;
  readonly handler: (context: StepContext) => Promise<unknown>;
  readonly needs: readonly string[];
  /** Steps that need this one. */
  readonly dependents: readonly string[];
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly timeoutMs: number;
  readonly priority: Priority | undefined;
  readonly agentType: string | undefined;
}

export interface Pipeline {
  readonly name: string;
  readonly input: z.ZodTypeAny;
  readonly priority: Priority;
  /** In definition order. */
  readonly steps: readonly CompiledStep[];
  readonly byName: ReadonlyMap<string, CompiledStep>;
  /** Steps with no needs: queued when a job is created. */
  readonly roots: readonly string[];
}

/** What a job row keeps of the definition (pipelines.jobs.plan). */
export interface PlanStep {
  readonly name: string;
  readonly needs: readonly string[];
  readonly priority: Priority | null;
  readonly maxAttempts: number;
}
