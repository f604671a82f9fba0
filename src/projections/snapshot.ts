import type pg from 'pg';
import type { Entity } from './delta.js';
import { emptyModel, jobCountsFromJobs, queuesFromSteps, type JobRow, type Model, type Snapshot, type StepRow } from './model.js';
import type { Slice } from './reducer.js';
import { MODEL_KEYS, PROJECTION_SCHEMA, readCheckpoint, readEntity } from './tables.js';

export type { Snapshot, Slice };

/**
 * The read model, whole or a slice, with the offset it is consistent at.
 * Everything is read in one REPEATABLE READ transaction, the checkpoint
 * first, so rows and offset agree (the projector writes both in one
 * transaction) and a rebuild's schema swap waits for the snapshot to finish.
 *
 * A slice holds what `matchesSlice` lets through: for a job, its row, its
 * steps, and the queue depths and job counts those rows make; for a pipeline,
 * its jobs, steps, queue rows, pause and stats rows.
 */
export async function snapshot(pool: pg.Pool, slice: Slice = {}, schema = PROJECTION_SCHEMA): Promise<Snapshot> {
  const client = await pool.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const { position } = await readCheckpoint(client, schema);
    const model = await readSlice(client, schema, slice);
    await client.query('commit');
    return { offset: position, model };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

async function readSlice(client: pg.PoolClient, schema: string, slice: Slice): Promise<Model> {
  const model = emptyModel() as unknown as Record<keyof Model, Record<string, unknown>>;
  const read = async (entity: Entity, where = '', values: unknown[] = []) => {
    model[MODEL_KEYS[entity]] = await readEntity(client, schema, entity, where, values);
  };
  if (slice.jobId === undefined && slice.pipeline === undefined) {
    for (const entity of Object.keys(MODEL_KEYS) as Entity[]) await read(entity);
    return model as unknown as Model;
  }
  if (slice.jobId !== undefined) {
    const pipeline = slice.pipeline === undefined ? '' : ' and pipeline = $2';
    const values = slice.pipeline === undefined ? [slice.jobId] : [slice.jobId, slice.pipeline];
    await read('job', `id = $1${pipeline}`, values);
    await read('step', `job_id = $1${pipeline}`, values);
    model.queues = queuesFromSteps(model.steps as Record<string, StepRow>);
    model.stats = jobCountsFromJobs(model.jobs as Record<string, JobRow>);
    return model as unknown as Model;
  }
  const values = [slice.pipeline];
  await read('job', 'pipeline = $1', values);
  await read('step', 'pipeline = $1', values);
  await read('queue', 'pipeline = $1', values);
  await read('pause', 'pipeline = $1', values);
  await read('stats', 'pipeline = $1', values);
  return model as unknown as Model;
}
