import { isDeepStrictEqual } from 'node:util';
import type { Model } from './model.js';

/** What changed in one table of the model: rows added or changed (their new value), and ids removed. */
export interface TableDiff {
  readonly upserted: Record<string, unknown>;
  readonly removed: string[];
}

export type ModelDiff = { readonly [K in keyof Model]: TableDiff };

const TABLES: readonly (keyof Model)[] = ['jobs', 'steps', 'workers', 'queues', 'pauses', 'stats', 'alerts'];

/** Entity by entity, what turns `from` into `to`. */
export function diffModels(from: Model, to: Model): ModelDiff {
  const diff = {} as Record<keyof Model, TableDiff>;
  for (const table of TABLES) {
    const before = from[table] as Record<string, unknown>;
    const after = to[table] as Record<string, unknown>;
    const upserted: Record<string, unknown> = {};
    const removed: string[] = [];
    for (const id in after) if (!isDeepStrictEqual(before[id], after[id])) upserted[id] = after[id];
    for (const id in before) if (!(id in after)) removed.push(id);
    removed.sort();
    diff[table] = { upserted, removed };
  }
  return diff;
}

/** Applies a diff to `model` in place and returns it. */
export function applyModelDiff(model: Model, diff: ModelDiff): Model {
  for (const table of TABLES) {
    const rows = model[table] as Record<string, unknown>;
    for (const id of diff[table].removed) delete rows[id];
    for (const [id, row] of Object.entries(diff[table].upserted)) rows[id] = structuredClone(row);
  }
  return model;
}
