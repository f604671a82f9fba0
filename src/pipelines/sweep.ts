import type pg from 'pg';
import type { Config } from '../ops/config.js';
import { changeAlert, type AlertLevel } from './alerts.js';
import { QUEUES, type Priority } from '../events/catalogue.js';
import { wakeWorkers } from './graphile-internals.js';
import { PRIORITY_NUMBER } from './naming.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { withTransaction } from '../ops/transaction.js';
import { workerEvent } from '../events/new-event.js';

export type SweepConfig = Pick<Config, 'workerTtlMs' | 'queueWarnDepth' | 'queueCriticalDepth'>;

export interface SweepResult {
  /** Workers this sweep declared offline. */
  readonly offline: string[];
  /** Queue depth by queue (high / normal / background): step jobs due and not running. */
  readonly depths: Record<string, number>;
}

/**
 * One round of maintenance, safe to run from any number of processes at once:
 *  - workers silent for longer than the TTL are declared `worker.offline`,
 *    their locked graphile-worker jobs released so other workers re-run them,
 *    and a worker_offline alert raised;
 *  - queue depths are compared with the warning and critical thresholds and
 *    alerts raised or cleared on each crossing.
 */
export async function sweep(pool: pg.Pool, config: SweepConfig): Promise<SweepResult> {
  const offline: string[] = [];
  const { rows: silent } = await pool.query<{ worker_id: string }>(
    `select worker_id from pipelines.workers
      where state = 'online' and last_seen_at < now() - make_interval(secs => $1::float8 / 1000)`,
    [config.workerTtlMs],
  );
  for (const { worker_id: workerId } of silent) {
    const declared = await withTransaction(pool, async (client) => {
      // Conditional on the state it had: a second sweeper waiting on the row
      // lock re-checks and finds it offline already.
      const { rows } = await client.query<{ gw_worker_ids: string[]; last_seen_at: Date }>(
        `update pipelines.workers set state = 'offline'
          where worker_id = $1 and state = 'online' and last_seen_at < now() - make_interval(secs => $2::float8 / 1000)
          returning gw_worker_ids, last_seen_at`,
        [workerId, config.workerTtlMs],
      );
      const row = rows[0];
      if (!row) return false;
      const { rows: locked } = await client.query<{ n: string }>(
        'select count(*) as n from graphile_worker.jobs where locked_by = any($1::text[])',
        [row.gw_worker_ids],
      );
      await client.query('select graphile_worker.force_unlock_workers($1::text[])', [row.gw_worker_ids]);
      const lastSeenAt = row.last_seen_at.toISOString();
      const alert = await changeAlert(client, 'worker_offline', workerId, {
        severity: 'critical',
        message: `worker ${workerId} silent since ${lastSeenAt}`,
      });
      // Wake the other workers so they take the released steps now.
      await wakeWorkers(client);
      await appendWithJobs(
        client,
        [],
        eventsPayload([workerEvent('worker.offline', { workerId, lastSeenAt, releasedSteps: Number(locked[0]!.n) }), ...alert]),
      );
      return true;
    });
    if (declared) offline.push(workerId);
  }

  // graphile-worker's public view has no payload; a step job's priority
  // number stands for its queue (naming.ts, PRIORITY_NUMBER).
  const { rows: depthRows } = await pool.query<{ priority: number; n: string }>(
    `select priority, count(*) as n
       from graphile_worker.jobs
      where task_identifier like 'rl\\_step:%' and locked_at is null and run_at <= now() and attempts < max_attempts
      group by 1`,
  );
  const depths: Record<string, number> = Object.fromEntries(Object.values(QUEUES).map((queue) => [queue, 0]));
  for (const row of depthRows) {
    const priority = (Object.keys(PRIORITY_NUMBER) as Priority[]).find((name) => PRIORITY_NUMBER[name] === row.priority);
    if (priority !== undefined) depths[QUEUES[priority]] = (depths[QUEUES[priority]] ?? 0) + Number(row.n);
  }
  const { rows: current } = await pool.query<{ subject: string; severity: string | null }>(
    `select subject, severity from pipelines.alerts where kind = 'queue_depth'`,
  );
  const known = new Map(current.map((row) => [row.subject, row.severity]));
  for (const [queue, depth] of Object.entries(depths)) {
    const level = depthLevel(queue, depth, config);
    if ((known.get(queue) ?? null) === level.severity) continue;
    await withTransaction(pool, async (client) => {
      const events = await changeAlert(client, 'queue_depth', queue, level);
      if (events.length > 0) await appendWithJobs(client, [], eventsPayload(events));
    });
  }
  return { offline, depths };
}

function depthLevel(queue: string, depth: number, config: SweepConfig): AlertLevel {
  if (depth >= config.queueCriticalDepth) {
    return { severity: 'critical', value: depth, threshold: config.queueCriticalDepth, message: `queue ${queue} has ${depth} steps waiting` };
  }
  if (depth >= config.queueWarnDepth) {
    return { severity: 'warning', value: depth, threshold: config.queueWarnDepth, message: `queue ${queue} has ${depth} steps waiting` };
  }
  return { severity: null };
}
