import type { LedgerEvent, Queryable } from '../ledger/types.js';
import type { Delta, Entity } from './delta.js';
import { eventToDeltas } from './event-to-deltas.js';
import { emptyModel, type Model } from './model.js';
import { applyDeltas, makesWorkerGone, newTouched, type Touched } from './reducer.js';
import {
  ARCHIVE_TABLES, ENTITIES, MODEL_KEYS, deleteStatement, insertStatements, readCheckpoint, readEntity, runStatements, writeCheckpoint,
  type Statement,
} from './tables.js';

/** The checkpoint is behind the batch: events between them were not applied. The caller re-reads from `checkpoint`. */
export class CheckpointGap extends Error {
  constructor(readonly checkpoint: number, readonly first: number) {
    super(`projection checkpoint is ${checkpoint} but the batch starts at ${first}`);
    this.name = 'CheckpointGap';
  }
}

export interface AppliedBatch {
  /** The checkpoint after the batch. */
  readonly position: number;
  /** Deltas of the events this batch applied (events at or below the old checkpoint are skipped). */
  readonly deltas: Delta[];
}

/**
 * Applies events to the tables of `schema` and advances its checkpoint, inside
 * the caller's open transaction. The checkpoint row is locked first, so two
 * appliers serialise and the second skips what the first applied. The rows the
 * deltas touch are loaded, reduced in memory by the same reducer the rebuild
 * and the clients use, and written back in a few statements.
 */
export async function applyBatch(db: Queryable, schema: string, events: readonly LedgerEvent[]): Promise<AppliedBatch> {
  const { position } = await readCheckpoint(db, schema, true);
  const fresh = events.filter((event) => event.position > position);
  if (fresh.length === 0) return { position, deltas: [] };
  if (fresh[0]!.position !== position + 1) throw new CheckpointGap(position, fresh[0]!.position);

  const deltas = fresh.flatMap(eventToDeltas);
  const model = await loadAffected(db, schema, deltas);
  const touched = newTouched();
  applyDeltas(model, deltas, touched);
  await saveTouched(db, schema, model, touched, true);
  const last = fresh[fresh.length - 1]!.position;
  await writeCheckpoint(db, schema, last);
  return { position: last, deltas };
}

/** Every row the reducer may read or change while applying `deltas`. */
async function loadAffected(db: Queryable, schema: string, deltas: readonly Delta[]): Promise<Model> {
  const jobIds = new Set<string>();
  const workerIds = new Set<string>();
  const statsIds = new Set<string>();
  const alertIds = new Set<string>();
  for (const delta of deltas) {
    if (delta.jobId !== undefined) jobIds.add(delta.jobId);
    if (delta.entity === 'worker') workerIds.add(delta.id);
    else if (delta.entity === 'stats') statsIds.add(delta.id);
    else if (delta.entity === 'alert') alertIds.add(delta.id);
  }
  const model = emptyModel();
  if (jobIds.size > 0) {
    model.jobs = (await readEntity(db, schema, 'job', { id: [...jobIds] })) as Model['jobs'];
    // A job's steps all come along: cancelling a job cancels its unfinished steps.
    model.steps = (await readEntity(db, schema, 'step', { job_id: [...jobIds] })) as Model['steps'];
    // Job status changes move the `jobs/<pipeline>` counts; step status changes move queue depths.
    model.stats = {
      ...(await readEntity(db, schema, 'stats', { kind: 'jobs' })),
      ...(await readEntity(db, schema, 'stats', { id: [...statsIds] })),
    } as Model['stats'];
    model.queues = (await readEntity(db, schema, 'queue')) as Model['queues'];
  } else if (statsIds.size > 0) {
    model.stats = (await readEntity(db, schema, 'stats', { id: [...statsIds] })) as Model['stats'];
  }
  // A worker stopping or going offline may push the oldest gone worker out of the model, so all are needed.
  if (deltas.some(makesWorkerGone)) {
    model.workers = (await readEntity(db, schema, 'worker')) as Model['workers'];
  } else if (workerIds.size > 0) {
    model.workers = (await readEntity(db, schema, 'worker', { id: [...workerIds] })) as Model['workers'];
  }
  if (deltas.some((delta) => delta.entity === 'pause')) model.pauses = (await readEntity(db, schema, 'pause')) as Model['pauses'];
  // New alerts evict the oldest beyond the recent window, so all recent alerts are needed.
  if (alertIds.size > 0) model.alerts = (await readEntity(db, schema, 'alert')) as Model['alerts'];
  return model;
}

/** Writes the touched rows that still exist and deletes the ones the reducer removed. */
export async function saveTouched(db: Queryable, schema: string, model: Model, touched: Touched, upsert: boolean): Promise<void> {
  await runStatements(db, touchedStatements(schema, model, touched, upsert));
}

/**
 * Keys of the rows a writer knows to be in the tables, by entity: a row the
 * reducer removed that was never written needs no DELETE. The rebuild keeps
 * these for jobs and steps, whose rows mostly come and go (to the archive)
 * between two of its flushes; they hold the live window only.
 */
export type WrittenRows = Partial<Record<Entity, Set<string>>>;

/**
 * The statements saving the touched rows, serialised now: later changes to
 * the model do not change them. Deletes and writes never name the same row,
 * so they may run in any order.
 */
export function touchedStatements(
  schema: string,
  model: Model,
  touched: Touched,
  upsert: boolean,
  written?: WrittenRows,
): Statement[] {
  const statements: Statement[] = [];
  for (const entity of ENTITIES as Entity[]) {
    const ids = touched[entity];
    if (ids.size === 0) continue;
    const table = model[MODEL_KEYS[entity]] as Record<string, unknown>;
    const inTable = written?.[entity];
    const present = new Map<string, unknown>();
    const removed: string[] = [];
    for (const id of ids) {
      if (table[id] !== undefined) {
        present.set(id, table[id]);
        inTable?.add(id);
      } else if (inTable === undefined || inTable.delete(id)) {
        removed.push(id);
      }
    }
    const deletion = deleteStatement(schema, entity, removed);
    if (deletion) statements.push(deletion);
    statements.push(...insertStatements(schema, entity, present, upsert));
  }
  statements.push(...archiveStatements(schema, touched));
  return statements;
}

/**
 * The statements writing archived jobs and their steps to the archive tables
 * (upserts: a job archived again after a late event replaces its row).
 */
export function archiveStatements(schema: string, touched: Touched): Statement[] {
  if (touched.archived.size === 0) return [];
  const jobs = new Map<string, unknown>();
  const steps = new Map<string, unknown>();
  for (const [id, archived] of touched.archived) {
    jobs.set(id, archived.job);
    for (const step of archived.steps) steps.set(`${step.jobId}/${step.step}`, step);
  }
  return [
    ...insertStatements(schema, 'job', jobs, true, ARCHIVE_TABLES.job),
    ...insertStatements(schema, 'step', steps, true, ARCHIVE_TABLES.step),
  ];
}
