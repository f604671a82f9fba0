import type { Queryable } from '../../ledger/types.js';
import type { Metrics } from './registry.js';

const ALERT_KINDS = ['queue_depth', 'worker_offline'];
const SEVERITIES = ['warning', 'critical'];

const COLLECT_SQL = `
select h.head, c.position as checkpoint,
       coalesce(extract(epoch from clock_timestamp() - (select sealed_at from ledger.blocks where last_position > c.position order by last_position limit 1)), 0)::float8 as lag_seconds
  from (select coalesce(max(last_position), 0) as head from ledger.blocks) h, projection.checkpoint c;
select queue, pipeline, depth from projection.queues;
select queue, pipeline, extract(epoch from clock_timestamp() - min(coalesce(run_at, queued_at)))::float8 as age
  from projection.steps
 where status in ('queued', 'retrying') and coalesce(run_at, queued_at) <= now() and queue is not null
 group by queue, pipeline;
select pipeline, fields from projection.stats where kind = 'jobs';
select count(*)::int as online from pipelines.workers where state = 'online';
select kind, severity, count(*)::int as n from pipelines.alerts where severity is not null group by kind, severity;
select pipeline, paused from projection.pauses`;

/**
 * Sets the gauges that describe the system rather than this process, from
 * cheap queries at scrape time: index lookups on the ledger (never a scan of
 * it) and reads of the live read model and the runner's small tables. Every
 * process answers with the same values: aggregate them with max(), not sum().
 * A label set seen once stays, at 0, so a drained queue reads 0 instead of
 * vanishing. Resolves false (and sets runledger_database_up 0) on failure.
 */
export function createDatabaseCollector(db: Queryable, metrics: Metrics): () => Promise<boolean> {
  const seenQueues = new Set<string>();
  const seenJobs = new Set<string>();
  return async function collectDatabase() {
    try {
      // One round trip, one connection: the statements carry no parameters, so
      // they go as one simple query and come back as one result each.
      const results = (await db.query(COLLECT_SQL)) as unknown as { rows: unknown[] }[];
      const [position, queues, oldest, jobs, workers, alerts, pauses] = results.map((result) => result.rows) as unknown as [
        { head: string; checkpoint: string; lag_seconds: number }[],
        { queue: string; pipeline: string; depth: number }[],
        { queue: string; pipeline: string; age: number }[],
        { pipeline: string; fields: Record<string, number> }[],
        { online: number }[],
        { kind: string; severity: string; n: number }[],
        { pipeline: string; paused: boolean }[],
      ];
      const row = position[0]!;
      const head = Number(row.head);
      const checkpoint = Number(row.checkpoint);
      metrics.headPosition.set(head);
      metrics.checkpointPosition.set(checkpoint);
      metrics.projectionLagEvents.set(Math.max(0, head - checkpoint));
      metrics.projectionLagSeconds.set(head > checkpoint ? Math.max(0, row.lag_seconds) : 0);

      const depths = new Map(queues.map((q) => [`${q.queue}\u0000${q.pipeline ?? ''}`, q.depth]));
      const ages = new Map(oldest.map((q) => [`${q.queue}\u0000${q.pipeline ?? ''}`, q.age]));
      for (const key of [...depths.keys(), ...ages.keys()]) seenQueues.add(key);
      for (const key of seenQueues) {
        const [queue, pipeline] = key.split('\u0000') as [string, string];
        metrics.queueDepth.set({ queue, pipeline }, depths.get(key) ?? 0);
        metrics.oldestQueuedSeconds.set({ queue, pipeline }, Math.max(0, ages.get(key) ?? 0));
      }

      const counts = new Map<string, number>();
      for (const { pipeline, fields } of jobs) {
        for (const [status, n] of Object.entries(fields)) counts.set(`${pipeline ?? ''}\u0000${status}`, Number(n) || 0);
      }
      for (const key of counts.keys()) seenJobs.add(key);
      for (const key of seenJobs) {
        const [pipeline, status] = key.split('\u0000') as [string, string];
        metrics.jobs.set({ pipeline, status }, counts.get(key) ?? 0);
      }

      metrics.workersOnline.set(workers[0]!.online);
      for (const kind of ALERT_KINDS) for (const severity of SEVERITIES) metrics.alertsActive.set({ kind, severity }, 0);
      for (const { kind, severity, n } of alerts) metrics.alertsActive.set({ kind, severity }, n);
      metrics.pipelinePaused.reset();
      for (const { pipeline, paused } of pauses) metrics.pipelinePaused.set({ pipeline }, paused ? 1 : 0);
      metrics.databaseUp.set(1);
      return true;
    } catch {
      metrics.databaseUp.set(0);
      return false;
    }
  };
}
