import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; from 1 ms (a local append) to 10 min (a long simulated step). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// The stream's own steps take well under a millisecond on an idle server.
const FEED_BUCKETS = [0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025, 0.1, 1];
// A group commit's items: 1 when idle, up to a few hundred under load.
const ITEM_BUCKETS = [1, 2, 3, 4, 6, 8, 16, 32, 64, 128, 256];
const STEP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300, 600];

/**
 * Every metric runledger exports, in one registry per process. Metrics are
 * process-wide by nature (one scrape answers for the process, as Node's own
 * defaults do), so the code that counts imports `metrics` instead of having
 * it threaded through every constructor. Labels are low-cardinality only:
 * event types, pipelines, step names, queues, transports — never a job id.
 * docs/operations.md lists them with where each is measured.
 */
/** Per-transport stream counts, plain numbers: bumped per frame on the hot path, read into the metrics at scrape time. */
export interface StreamCounts {
  frames: number;
  slowConsumerCloses: number;
  connections: number;
}

export function createMetrics() {
  const streams: Record<'ws' | 'sse', StreamCounts> = {
    ws: { frames: 0, slowConsumerCloses: 0, connections: 0 },
    sse: { frames: 0, slowConsumerCloses: 0, connections: 0 },
  };
  // prom-client spends ~0.7 µs per labelled inc(); at 1,000 clients × 100 events/s that is 7 % of a core.
  const fromStreams = (field: keyof StreamCounts) =>
    function collect(this: Counter<'transport'> | Gauge<'transport'>) {
      this.reset();
      for (const transport of ['ws', 'sse'] as const) this.inc({ transport }, streams[transport][field]);
    };
  const registry = new Registry();
  const r = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'runledger_' });
  // prom-client names these gauges *_total, which Prometheus reserves for
  // counters (promtool check metrics refuses them). Dropped: the same
  // numbers are in runledger_nodejs_active_{handles,requests,resources} by type.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    registry.removeSingleMetric(`runledger_nodejs_${name}`);
  }
  return {
    registry,
    streams,

    // Counted in code.
    appendSeconds: new Histogram({
      name: 'runledger_append_duration_seconds',
      help: 'Time of the statement that appends to the ledger (ordering lock wait included), by call path',
      labelNames: ['path'] as const,
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    dispatchSeconds: new Histogram({
      name: 'runledger_dispatch_latency_seconds',
      help: "From an event's recorded_at (its append) to its frame being handed to this process's stream clients",
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    feedReadSeconds: new Histogram({
      name: 'runledger_stream_read_seconds',
      help: "From the doorbell's NOTIFY reaching this process's feed to the new events read from the ledger",
      buckets: FEED_BUCKETS,
      registers: r,
    }),
    feedSendSeconds: new Histogram({
      name: 'runledger_stream_send_seconds',
      help: "From the feed's new events read to their deltas frames handed to every stream client of this process",
      buckets: FEED_BUCKETS,
      registers: r,
    }),
    streamConnections: new Gauge({
      name: 'runledger_stream_connections',
      help: 'Open stream connections by transport (ws, sse)',
      labelNames: ['transport'] as const,
      registers: r,
      collect: fromStreams('connections'),
    }),
    framesSent: new Counter({
      name: 'runledger_stream_frames_sent_total',
      help: 'Stream frames queued to clients, by transport',
      labelNames: ['transport'] as const,
      registers: r,
      collect: fromStreams('frames'),
    }),
    slowConsumerCloses: new Counter({
      name: 'runledger_stream_slow_consumer_closes_total',
      help: 'Stream clients closed because they did not read fast enough, by transport',
      labelNames: ['transport'] as const,
      registers: r,
      collect: fromStreams('slowConsumerCloses'),
    }),
    listenerReconnects: new Counter({
      name: 'runledger_listener_reconnects_total',
      help: 'Times the LISTEN connection for ledger notifications was lost and re-established',
      registers: r,
    }),
    httpSeconds: new Histogram({
      name: 'runledger_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status class',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),

    // Observed from the ledger as the projector applies it (see ledger-observer.ts).
    eventsAppended: new Counter({
      name: 'runledger_events_appended_total',
      help: 'Ledger events by type, counted once cluster-wide by the process whose projector applies them',
      labelNames: ['type'] as const,
      registers: r,
    }),
    groupCommitSeconds: new Histogram({
      name: 'runledger_group_commit_seconds',
      help: 'One group commit (step starts, step finishes, job creations committed together): its transaction, ordering-lock wait included, by batch',
      labelNames: ['batch'] as const,
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    groupCommitWaitSeconds: new Histogram({
      name: 'runledger_group_commit_wait_seconds',
      help: 'How long an item waited for the group commit that took it to start (the one in flight to end), by batch',
      labelNames: ['batch'] as const,
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    groupCommitItems: new Histogram({
      name: 'runledger_group_commit_items',
      help: 'Items per group commit, by batch',
      labelNames: ['batch'] as const,
      buckets: ITEM_BUCKETS,
      registers: r,
    }),
    stepSeconds: new Histogram({
      name: 'runledger_step_duration_seconds',
      help: 'Step run time by pipeline, step and outcome (completed, failed)',
      labelNames: ['pipeline', 'step', 'outcome'] as const,
      buckets: STEP_BUCKETS,
      registers: r,
    }),
    scheduleToStartSeconds: new Histogram({
      name: 'runledger_step_schedule_to_start_seconds',
      help: 'From the time a step was due (queued, or its retry time) to its start, by queue and pipeline',
      labelNames: ['queue', 'pipeline'] as const,
      buckets: STEP_BUCKETS,
      registers: r,
    }),
    alertsRaised: new Counter({
      name: 'runledger_alerts_raised_total',
      help: 'alert.raised events by kind and severity',
      labelNames: ['kind', 'severity'] as const,
      registers: r,
    }),
    projectorLeader: new Gauge({
      name: 'runledger_projector_leader',
      help: '1 while this process leads the projector (applies events and counts the ledger-derived metrics)',
      registers: r,
    }),

    // Read from the database and the read model at scrape time (see collect-database.ts).
    databaseUp: new Gauge({ name: 'runledger_database_up', help: '1 when the scrape-time database queries succeeded', registers: r }),
    headPosition: new Gauge({ name: 'runledger_ledger_head_position', help: 'Position of the newest ledger event', registers: r }),
    checkpointPosition: new Gauge({
      name: 'runledger_projection_checkpoint_position',
      help: 'Ledger position the read model is consistent at',
      registers: r,
    }),
    projectionLagEvents: new Gauge({
      name: 'runledger_projection_lag_events',
      help: 'Ledger events not yet applied to the read model',
      registers: r,
    }),
    projectionLagSeconds: new Gauge({
      name: 'runledger_projection_lag_seconds',
      help: 'Age of the oldest ledger event not yet applied to the read model (0 when caught up)',
      registers: r,
    }),
    queueDepth: new Gauge({
      name: 'runledger_queue_depth',
      help: 'Steps waiting to run (queued or waiting for a retry) by queue and pipeline',
      labelNames: ['queue', 'pipeline'] as const,
      registers: r,
    }),
    oldestQueuedSeconds: new Gauge({
      name: 'runledger_queue_oldest_step_age_seconds',
      help: 'How long the oldest step that is due has been waiting to start, by queue and pipeline',
      labelNames: ['queue', 'pipeline'] as const,
      registers: r,
    }),
    jobs: new Gauge({
      name: 'runledger_jobs',
      help: 'Jobs by pipeline and status, from the read model',
      labelNames: ['pipeline', 'status'] as const,
      registers: r,
    }),
    workersOnline: new Gauge({ name: 'runledger_workers_online', help: 'Worker processes online', registers: r }),
    alertsActive: new Gauge({
      name: 'runledger_alerts_active',
      help: 'Alerts raised and not cleared, by kind and severity',
      labelNames: ['kind', 'severity'] as const,
      registers: r,
    }),
    pipelinePaused: new Gauge({
      name: 'runledger_pipeline_paused',
      help: '1 for a paused pipeline (pipeline="*": everything is paused)',
      labelNames: ['pipeline'] as const,
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Starts the known label sets at zero, so a dashboard or an alert rule finds
 * a series (reading 0) before the first increment instead of no data.
 */
function zeroKnownSeries(metrics: Metrics): Metrics {
  for (const path of ['append', 'append_and_commit', 'append_with_jobs', 'append_with_jobs_and_commit']) metrics.appendSeconds.zero({ path });
  for (const kind of ['queue_depth', 'worker_offline']) {
    for (const severity of ['warning', 'critical']) metrics.alertsRaised.inc({ kind, severity }, 0);
  }
  return metrics;
}

/** This process's metrics. */
export const metrics: Metrics = zeroKnownSeries(createMetrics());
