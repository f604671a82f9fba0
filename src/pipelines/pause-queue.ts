import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import { QUEUES } from '../events/catalogue.js';
import { operatorMetadata, type OperatorOptions } from './operator.js';
import { holdStepStarts } from './pause.js';
import { appendWithJobs, eventsPayload } from './append-with-jobs.js';
import { withTransaction } from '../ops/transaction.js';
import { queueEvent } from '../events/new-event.js';

/**
 * Pauses one queue (high, normal or background) across all pipelines: no
 * step of that queue starts until it is resumed (pipelines.admit_steps queues
 * such steps again a second later); running steps finish. The pause is a row
 * 'queue:<name>' of pipelines.pauses. Appends `queue.paused` with `queue`;
 * null when it was paused already.
 */
export async function pauseQueue(pool: pg.Pool, queue: string, options: OperatorOptions = {}): Promise<{ position: number } | null> {
  checkQueue(queue);
  return withTransaction(pool, async (client) => {
    await holdStepStarts(client);
    const { rowCount } = await client.query('insert into pipelines.pauses (pipeline, reason) values ($1, $2) on conflict do nothing', [
      `queue:${queue}`,
      options.reason ?? null,
    ]);
    if (rowCount === 0) return null;
    const data = options.reason === undefined ? { pipeline: null, queue } : { pipeline: null, queue, reason: options.reason };
    return { position: await appendWithJobs(client, [], eventsPayload([queueEvent('queue.paused', data, operatorMetadata(options))])) };
  });
}

/** Resumes a paused queue; appends `queue.resumed` with `queue`; null when it was not paused. */
export async function resumeQueue(pool: pg.Pool, queue: string, options: OperatorOptions = {}): Promise<{ position: number } | null> {
  checkQueue(queue);
  return withTransaction(pool, async (client) => {
    const { rowCount } = await client.query('delete from pipelines.pauses where pipeline = $1', [`queue:${queue}`]);
    if (rowCount === 0) return null;
    return { position: await appendWithJobs(client, [], eventsPayload([queueEvent('queue.resumed', { pipeline: null, queue }, operatorMetadata(options))])) };
  });
}

export function checkQueue(queue: string): void {
  if (!Object.values(QUEUES).includes(queue)) {
    throw new AppError(404, 'unknown_queue', `queue: no queue named ${JSON.stringify(queue)} (known: ${Object.values(QUEUES).join(', ')})`, {
      field: 'queue',
    });
  }
}
