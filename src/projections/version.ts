/**
 * Bump whenever the projection code would build different tables from the
 * same ledger (new columns, new delta rules): start-up then rebuilds (see
 * ensureProjectionVersion in src/projections/rebuild.ts).
 *
 * 2: `job.archived` moves jobs to the archive tables; jobs carry createdOffset.
 */
export const PROJECTION_VERSION = 2;
