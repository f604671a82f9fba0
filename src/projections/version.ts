/**
 * Bump whenever the projection code would build different tables from the
 * same ledger (new columns, new delta rules): start-up then rebuilds (see
 * ensureProjectionVersion in src/projections/rebuild.ts).
 */
export const PROJECTION_VERSION = 2;
