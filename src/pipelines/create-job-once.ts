import { createHash } from 'node:crypto';
import type pg from 'pg';
import { AppError } from '../ops/errors.js';
import { prepareJob, type CreateJobOptions, type CreatedJob } from './create-job.js';
import { insertJobsAndCommit } from './create-jobs-together.js';

export interface CreateOnceResult extends CreatedJob {
  /** False when the key had been used already with the same request: this is its first answer again. */
  readonly created: boolean;
}

/**
 * createJob at most once per (actor, key): the key's row is inserted in the
 * job's own transaction, so the key and the job commit together or not at
 * all. A concurrent request with the same key waits on the key's unique
 * index until the first commits, then answers what the first answered; a
 * different request with the same key is a 409.
 */
export async function createJobOnce(
  pool: pg.Pool,
  key: string,
  pipelineName: string,
  input: unknown,
  options: CreateJobOptions & { actor: string },
): Promise<CreateOnceResult> {
  const requestHash = createHash('sha256')
    .update(JSON.stringify([pipelineName, input, options.priority ?? null]))
    .digest('hex');
  const prepared = prepareJob(pipelineName, input, options);
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rowCount } = await client.query(
      `insert into runledger.idempotency_keys (actor, key, request_hash, response) values ($1, $2, $3, $4) on conflict do nothing`,
      [options.actor, key, requestHash, JSON.stringify({ jobId: prepared.jobId })],
    );
    if (rowCount === 1) return { ...(await insertJobsAndCommit(client, [prepared], false))[0]!, created: true };
    await client.query('rollback');
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  const { rows } = await pool.query<{ request_hash: string; response: { jobId: string } }>(
    'select request_hash, response from runledger.idempotency_keys where actor = $1 and key = $2',
    [options.actor, key],
  );
  const row = rows[0];
  if (!row) throw new Error('idempotency key vanished after a conflict');
  if (row.request_hash !== requestHash) {
    throw new AppError(409, 'idempotency_key_reused', 'Idempotency-Key: already used with a different request', { field: 'Idempotency-Key' });
  }
  return { jobId: row.response.jobId, position: await createdPosition(pool, row.response.jobId), created: false };
}

// The first answer's position is that of the job's job.created event (the
// first event of its append), read back rather than stored: storing it would
// cost a second write per job.
async function createdPosition(pool: pg.Pool, jobId: string): Promise<number> {
  const { rows } = await pool.query<{ position: string }>(
    `select position from ledger.events where stream_type = 'job' and stream_id = $1 and type = 'job.created' limit 1`,
    [jobId],
  );
  return Number(rows[0]!.position);
}
