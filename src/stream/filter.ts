import { EVENT_TYPES } from '../events/catalogue.js';
import { AppError } from '../ops/errors.js';
import type { Delta } from '../projections/delta.js';

/** What a subscriber wants to see; every field narrows, all given fields must match. */
export interface StreamFilter {
  /** Only deltas about this job. */
  readonly job?: string;
  /** Only deltas about this pipeline. */
  readonly pipeline?: string;
  /** Only deltas caused by these event types; `job.*` names a whole family. */
  readonly types?: readonly string[];
  /** Only aggregate deltas (counts, rates, queue depths, durations), none about single jobs. */
  readonly stats?: boolean;
}

/** Entities whose deltas are aggregates rather than about one job, step or worker. */
export const STATS_ENTITIES: ReadonlySet<string> = new Set(['stats', 'queue']);

const KNOWN_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);
const KNOWN_FAMILIES: ReadonlySet<string> = new Set(EVENT_TYPES.map((type) => `${type.split('.')[0]}.*`));
const ID = /^[\w.:@/-]{1,200}$/;

const invalid = (field: string, message: string) =>
  new AppError(400, 'invalid_filter', `${field}: ${message}`, { field });

/** Reads the filter from query parameters (`job`, `pipeline`, `types=a,b`, `stats=1`). */
export function filterFromQuery(query: URLSearchParams): StreamFilter {
  const types = query.get('types');
  const stats = query.get('stats');
  return parseFilter(
    {
      job: query.get('job') ?? undefined,
      pipeline: query.get('pipeline') ?? undefined,
      types: types === null ? undefined : types.split(','),
      stats: stats === null ? undefined : stats === '1' || stats === 'true' ? true : stats === '0' || stats === 'false' ? false : stats,
    },
    '',
  );
}

/** Checks a filter given as JSON (the `filter` of a subscribe message); errors name the field. */
export function parseFilter(input: unknown, prefix = 'filter.'): StreamFilter {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid(prefix.replace(/\.$/, '') || 'filter', 'must be an object');
  const { job, pipeline, types, stats, ...rest } = input as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw invalid(`${prefix}${unknown}`, 'is not a filter (use job, pipeline, types, stats)');
  const filter: { job?: string; pipeline?: string; types?: string[]; stats?: boolean } = {};
  for (const [name, value] of [['job', job], ['pipeline', pipeline]] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'string' || !ID.test(value)) {
      throw invalid(`${prefix}${name}`, 'must be an id of 1 to 200 letters, digits or . _ : @ / -');
    }
    filter[name] = value;
  }
  if (types !== undefined) {
    if (!Array.isArray(types) || types.length === 0) throw invalid(`${prefix}types`, 'must be a non-empty list of event types');
    for (const type of types) {
      if (typeof type !== 'string' || !(KNOWN_TYPES.has(type) || KNOWN_FAMILIES.has(type))) {
        throw invalid(`${prefix}types`, `unknown event type ${JSON.stringify(type)} (e.g. job.created or job.*)`);
      }
    }
    filter.types = types as string[];
  }
  if (stats !== undefined) {
    if (typeof stats !== 'boolean') throw invalid(`${prefix}stats`, 'must be true or false (1 or 0 in a query)');
    if (stats) filter.stats = true;
  }
  return filter;
}

/** A predicate for one delta; undefined when the filter lets everything through. */
export function compileFilter(filter: StreamFilter): ((delta: Delta) => boolean) | undefined {
  const { job, pipeline, types, stats } = filter;
  if (job === undefined && pipeline === undefined && types === undefined && !stats) return undefined;
  const exact = new Set(types?.filter((type) => !type.endsWith('.*')));
  const families = types?.filter((type) => type.endsWith('.*')).map((type) => type.slice(0, -1)) ?? [];
  return (delta) =>
    (job === undefined || delta.jobId === job) &&
    (pipeline === undefined || delta.pipeline === pipeline) &&
    (types === undefined || exact.has(delta.type) || families.some((family) => delta.type.startsWith(family))) &&
    (!stats || STATS_ENTITIES.has(delta.entity));
}
