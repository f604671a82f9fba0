import pg from 'pg';

const INT8 = 20;
const TIMESTAMPTZ = 1184;
const parseTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (value: string) => Date;
let lastTimeText = '';
let lastTimeIso = '';

/**
 * How event rows are parsed when they are read in bulk (the stream's replay,
 * the projector, a rebuild): bigints (positions, versions) as numbers, and
 * `recorded_at` straight to its ISO text through pg's own parser — the
 * parse remembered, because every event of a block shares its sealed_at
 * (a replay spent a quarter of its time parsing and re-printing dates).
 */
export const EVENT_ROW_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
    if (oid === INT8) return Number;
    if (oid === TIMESTAMPTZ) {
      return (value: string) => {
        if (value !== lastTimeText) {
          lastTimeIso = parseTimestamptz(value).toISOString();
          lastTimeText = value;
        }
        return lastTimeIso;
      };
    }
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
} as pg.CustomTypesConfig;
