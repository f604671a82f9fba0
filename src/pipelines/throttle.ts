import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import { operatorMetadata, type OperatorOptions } from './operator.js';
import { checkQueue } from './pause-queue.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { withTransaction } from '../ops/transaction.js';
import { queueEvent } from '../events/new-event.js';

/** What a throttle applies to: one pipeline or one queue. */
export type ThrottleTarget = { readonly pipeline: string; readonly queue?: undefined } | { readonly queue: string; readonly pipeline?: undefined };

export interface ThrottleLimits {
  /** At most this many steps running at once across all workers; null: no limit. */
  readonly maxRunning: number | null;
  /** At most this many step starts a second across all workers (bursts of max(1, this)); null: no limit. */
  readonly startsPerSecond: number | null;
}

export interface Throttle extends ThrottleLimits {
  readonly pipeline: string | null;
  readonly queue: string | null;
  readonly reason: string | null;
  readonly setAt: string;
  /** Steps holding a slot of this throttle now. */
  readonly running: number;
}

/**
 * Sets (or, with both limits null, lifts) a pipeline's or a queue's run-time
 * limits. Enforced by pipelines.admit_steps at every step start of every
 * worker; steps already running count once they started under a throttle,
 * so limits apply to steps started from now on. Appends `queue.throttled`.
 */
export async function setThrottle(
  pool: pg.Pool,
  target: ThrottleTarget,
  limits: ThrottleLimits,
  options: OperatorOptions = {},
): Promise<{ position: number }> {
  const scope = scopeOf(target);
  if (limits.maxRunning !== null && !(Number.isInteger(limits.maxRunning) && limits.maxRunning >= 0)) {
    throw new AppError(400, 'bad_request', 'maxRunning: must be a whole number ≥ 0 or null', { field: 'maxRunning' });
  }
  if (limits.startsPerSecond !== null && !(Number.isFinite(limits.startsPerSecond) && limits.startsPerSecond > 0)) {
    throw new AppError(400, 'bad_request', 'startsPerSecond: must be a number > 0 or null', { field: 'startsPerSecond' });
  }
  return withTransaction(pool, async (client) => {
    if (limits.maxRunning === null && limits.startsPerSecond === null) {
      await client.query('delete from pipelines.throttles where scope = $1', [scope]);
      // Steps that waited on it may start now rather than at their next poll.
      await client.query(`select pg_notify('jobs:insert', '{"count":1}')`);
    } else {
      await client.query(
        `insert into pipelines.throttles (scope, max_running, starts_per_second, tokens, refilled_at, reason, set_at)
         values ($1, $2::int, $3::float8, greatest(1, coalesce($3::float8, 1)), now(), $4, now())
         on conflict (scope) do update set max_running = excluded.max_running, starts_per_second = excluded.starts_per_second,
           tokens = excluded.tokens, refilled_at = now(), reason = excluded.reason, set_at = now()`,
        [scope, limits.maxRunning, limits.startsPerSecond, options.reason ?? null],
      );
    }
    const data = {
      pipeline: target.pipeline ?? null,
      queue: target.queue ?? null,
      maxRunning: limits.maxRunning,
      startsPerSecond: limits.startsPerSecond,
      ...(options.reason === undefined ? {} : { reason: options.reason }),
    };
    return { position: await appendWithJobs(client, [], eventsPayload([queueEvent('queue.throttled', data, operatorMetadata(options))])) };
  });
}

/** Every throttle in force, with the steps running under it now (stale slots of gone workers excluded). */
export async function listThrottles(db: pg.Pool): Promise<Throttle[]> {
  const { rows } = await db.query<{
    scope: string;
    max_running: number | null;
    starts_per_second: number | null;
    reason: string | null;
    set_at: Date;
    running: string;
  }>(
    `select t.scope, t.max_running, t.starts_per_second, t.reason, t.set_at,
            (select count(*) from pipelines.step_slots s join pipelines.workers w on w.worker_id = s.worker_id and w.state = 'online'
              where (t.scope = 'pipeline:' || s.pipeline) or (t.scope = 'queue:' || s.queue)) as running
       from pipelines.throttles t order by t.scope`,
  );
  return rows.map((row) => {
    const [kind, name] = [row.scope.slice(0, row.scope.indexOf(':')), row.scope.slice(row.scope.indexOf(':') + 1)];
    return {
      pipeline: kind === 'pipeline' ? name : null,
      queue: kind === 'queue' ? name : null,
      maxRunning: row.max_running,
      startsPerSecond: row.starts_per_second,
      reason: row.reason,
      setAt: row.set_at.toISOString(),
      running: Number(row.running),
    };
  });
}

function scopeOf(target: ThrottleTarget): string {
  if (target.queue !== undefined) {
    checkQueue(target.queue);
    return `queue:${target.queue}`;
  }
  if (typeof target.pipeline !== 'string' || !/^[a-z][a-z0-9_]{0,62}$/.test(target.pipeline)) {
    throw new AppError(400, 'bad_request', 'pipeline: must be a pipeline name', { field: 'pipeline' });
  }
  return `pipeline:${target.pipeline}`;
}
