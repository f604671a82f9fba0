import type pg from 'pg';
import { changeAlert } from './alerts.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { withTransaction } from '../ops/transaction.js';
import { workerEvent } from '../events/new-event.js';

/**
 * A worker the sweeper had declared offline is heard from again: back online,
 * `worker.online` and its alert cleared, once (the row lock decides).
 * Returns whether this call recorded the transition.
 */
export async function comeBack(pool: pg.Pool, workerId: string): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ state: string }>('select state from pipelines.workers where worker_id = $1 for update', [workerId]);
    if (rows[0]?.state !== 'offline') return false;
    await client.query(`update pipelines.workers set state = 'online', last_seen_at = now() where worker_id = $1`, [workerId]);
    const alert = await changeAlert(client, 'worker_offline', workerId, { severity: null });
    await appendWithJobs(client, [], eventsPayload([workerEvent('worker.online', { workerId }), ...alert]));
    return true;
  });
}
