// TEMPORARY until the projections branch lands: replaced by a re-export of
// src/projections/reducer.ts.
import type { Delta } from '../stream/projections.js';

export type Model = Record<string, Record<string, Record<string, unknown>>>;

export function emptyModel(): Model {
  return {};
}

export function applyDeltas(model: Model, deltas: readonly Delta[]): Model {
  for (const delta of deltas) {
    const entities = (model[delta.entity] ??= {});
    entities[delta.id] = { ...entities[delta.id], ...delta.patch };
  }
  return model;
}
