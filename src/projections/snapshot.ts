import type pg from 'pg';
import { withTransaction } from '../ops/transaction.js';
import type { Entity } from './delta.js';
import { emptyModel, jobCountsFromJobs, queuesFromSteps, type JobRow, type Model, type Snapshot, type StepRow } from './model.js';
import type { Slice } from './reducer.js';
import { MODEL_KEYS, PROJECTION_SCHEMA, readCheckpoint, readEntity, type Match } from './tables.js';

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
  return withTransaction(
    pool,
    async (client) => {
      const { position } = await readCheckpoint(client, schema);
      return { offset: position, model: await readSlice(client, schema, slice) };
    },
    'begin isolation level repeatable read read only',
  );
}

async function readSlice(client: pg.PoolClient, schema: string, slice: Slice): Promise<Model> {
  const model = emptyModel() as unknown as Record<keyof Model, Record<string, unknown>>;
  const read = async (entity: Entity, match: Match = {}) => {
    model[MODEL_KEYS[entity]] = await readEntity(client, schema, entity, match);
  };
  if (slice.jobId === undefined && slice.pipeline === undefined) {
    for (const entity of Object.keys(MODEL_KEYS) as Entity[]) await read(entity);
    return model as unknown as Model;
  }
  if (slice.jobId !== undefined) {
    const pipeline: Match = slice.pipeline === undefined ? {} : { pipeline: slice.pipeline };
    await read('job', { id: slice.jobId, ...pipeline });
    await read('step', { job_id: slice.jobId, ...pipeline });
    model.queues = queuesFromSteps(model.steps as Record<string, StepRow>);
    model.stats = jobCountsFromJobs(model.jobs as Record<string, JobRow>);
    return model as unknown as Model;
  }
  const match = { pipeline: slice.pipeline! };
  await read('job', match);
  await read('step', match);
  await read('queue', match);
  await read('pause', match);
  await read('stats', match);
  return model as unknown as Model;
}
