import path from 'node:path';

/**
 * Every setting runledger reads, from the environment, in one place. The rest
 * of the code receives a `Config` and never reads `process.env` itself.
 */
export interface Config {
  /** PostgreSQL connection string. Unset: an embedded PostgreSQL is started. (Default: unset) */
  readonly databaseUrl: string | undefined;
  /** Where the embedded PostgreSQL keeps its data. (Default: ./.runledger/pgdata) */
  readonly embeddedDataDir: string;
  /** Port of the embedded PostgreSQL. (Default: 54329) */
  readonly embeddedPort: number;
  /** Address the HTTP and WebSocket servers bind to. Without a token only loopback is allowed. (Default: 127.0.0.1) */
  readonly host: string;
  /** HTTP API, dashboard and SSE port. (Default: 3000) */
  readonly httpPort: number;
  /** uWebSockets.js port. (Default: 3001) */
  readonly wsPort: number;
  /** Bearer token protecting the API, the stream and SSE. (Default: unset, loopback only) */
  readonly token: string | undefined;
  /** Read-only tokens, `name:token` pairs, comma-separated: they read and stream, every write answers 403. Needs RUNLEDGER_TOKEN. (Default: none) */
  readonly readTokens: readonly { readonly name: string; readonly token: string }[];
  /** Writes (POST/PUT/PATCH/DELETE) allowed per second from one client address on the HTTP API; 0 turns the limit off. (Default: 50) */
  readonly writeRatePerSecond: number;
  /** Burst of writes one client address may send at once before the rate applies. (Default: 100) */
  readonly writeBurst: number;
  /** Lifetime of a stream ticket (POST /api/stream-tickets), ms. (Default: 30000) */
  readonly ticketTtlMs: number;
  /** Largest accepted event (data + metadata, bytes of JSON). (Default: 262144) */
  readonly maxEventBytes: number;
  /** Largest accepted HTTP body or WebSocket message, bytes. (Default: 1048576) */
  readonly maxMessageBytes: number;
  /** Connections allowed from one IP address on the stream. (Default: 200) */
  readonly maxConnectionsPerIp: number;
  /** A stream client further behind than this many events gets a snapshot instead of replay. (Default: 100000) */
  readonly replayLimit: number;
  /** Bytes buffered for one WebSocket before it is closed as a slow consumer. (Default: 4194304) */
  readonly maxBufferedBytes: number;
  /** Safety-net poll of the ledger tail, in case a NOTIFY is missed, ms. (Default: 5000) */
  readonly tailPollMs: number;
  /** While events keep coming, at least this long between two of the projector's batches, ms: each batch is a transaction of about ten round trips, so a shorter interval keeps the read model fresher and takes more of the machine from the appends and the live stream. (Default: 250) */
  readonly projectorIntervalMs: number;
  /** Size of the application's connection pool; at least 2 (the projector holds one connection and reads the ledger through another). (Default: 20) */
  readonly poolSize: number;
  /** graphile-worker concurrency per worker process. (Default: 8) */
  readonly workerConcurrency: number;
  /** A worker silent for longer than this is declared offline, ms. (Default: 30000) */
  readonly workerTtlMs: number;
  /** Worker heartbeat interval, ms. (Default: 5000) */
  readonly heartbeatMs: number;
  /** Queue depth raising a warning alert. (Default: 100) */
  readonly queueWarnDepth: number;
  /** Queue depth raising a critical alert. (Default: 500) */
  readonly queueCriticalDepth: number;
  /** Run the demo load generator with `start`. (Default: true) */
  readonly demo: boolean;
  /** Demo jobs created per second. (Default: 1) */
  readonly demoJobsPerSecond: number;
  /** Failure rate of simulated demo steps, 0..1. (Default: 0.05) */
  readonly demoFailureRate: number;
  /** pino log level. (Default: info) */
  readonly logLevel: string;
  /** Finished jobs leave the live read model for the archive this long after they finished, ms; the variable takes a duration such as 90s, 15m, 1h, 2d (a plain number is seconds). (Default: 3600000) */
  readonly retainFinishedMs: number;
  /** At most this many finished jobs stay in the live read model; the oldest beyond it are archived. (Default: 50) */
  readonly retainMaxJobs: number;
  /** Bearer token `/metrics` requires when set. (Default: unset, /metrics is open: it holds counts, no job data) */
  readonly metricsToken: string | undefined;
  /** `/health/ready` reports degraded when the read model's oldest unapplied event is older than this, seconds. (Default: 30) */
  readonly readyMaxLagSeconds: number;
  /** Port of the `work` role's own `/metrics` (Node.js and append metrics of that process). (Default: unset, none) */
  readonly metricsPort: number | undefined;
  /** Auditors (docs/auditing.md): Ed25519 private key signing checkpoints, PKCS#8 PEM or base64 DER (`runledger keygen`). (Default: unset, no checkpoints) */
  readonly signingKey: string | undefined;
  /** Sign a checkpoint after this many new events, or this many seconds when anything is new (`10000,60s`). (Default: 10000 events, 60 s) */
  readonly checkpointEvery: { readonly events: number; readonly seconds: number };
  /** Store a snapshot of the read model every this many events, for the model as of any offset. 0 turns snapshots off. (Default: 10000) */
  readonly modelSnapshotEvery: number;
  /** Keep only this many newest model snapshots; 0 keeps all. (Default: 0) */
  readonly modelSnapshotKeep: number;
}

type Env = Readonly<Record<string, string | undefined>>;

export function readConfig(env: Env = process.env): Config {
  return {
    databaseUrl: nonEmpty(env.DATABASE_URL),
    embeddedDataDir: path.resolve(env.RUNLEDGER_DATA_DIR ?? '.runledger/pgdata'),
    embeddedPort: int(env, 'RUNLEDGER_PG_PORT', 54329),
    host: env.HOST ?? '127.0.0.1',
    httpPort: int(env, 'PORT', 3000),
    wsPort: int(env, 'WS_PORT', 3001),
    token: nonEmpty(env.RUNLEDGER_TOKEN),
    readTokens: readTokens(env.RUNLEDGER_READ_TOKENS, env.RUNLEDGER_TOKEN),
    writeRatePerSecond: num(env, 'RUNLEDGER_WRITE_RATE', 50),
    writeBurst: int(env, 'RUNLEDGER_WRITE_BURST', 100),
    ticketTtlMs: int(env, 'RUNLEDGER_TICKET_TTL_MS', 30_000),
    maxEventBytes: int(env, 'RUNLEDGER_MAX_EVENT_BYTES', 256 * 1024),
    maxMessageBytes: int(env, 'RUNLEDGER_MAX_MESSAGE_BYTES', 1024 * 1024),
    maxConnectionsPerIp: int(env, 'RUNLEDGER_MAX_CONNECTIONS_PER_IP', 200),
    replayLimit: int(env, 'RUNLEDGER_REPLAY_LIMIT', 100_000),
    maxBufferedBytes: int(env, 'RUNLEDGER_MAX_BUFFERED_BYTES', 4 * 1024 * 1024),
    tailPollMs: int(env, 'RUNLEDGER_TAIL_POLL_MS', 5000),
    projectorIntervalMs: int(env, 'RUNLEDGER_PROJECTOR_INTERVAL_MS', 250),
    poolSize: atLeast(2, int(env, 'RUNLEDGER_POOL_SIZE', 20), 'RUNLEDGER_POOL_SIZE'),
    workerConcurrency: int(env, 'RUNLEDGER_WORKER_CONCURRENCY', 8),
    workerTtlMs: int(env, 'RUNLEDGER_WORKER_TTL_MS', 30_000),
    heartbeatMs: int(env, 'RUNLEDGER_HEARTBEAT_MS', 5000),
    queueWarnDepth: int(env, 'RUNLEDGER_QUEUE_WARN_DEPTH', 100),
    queueCriticalDepth: int(env, 'RUNLEDGER_QUEUE_CRITICAL_DEPTH', 500),
    demo: bool(env, 'RUNLEDGER_DEMO', true),
    demoJobsPerSecond: num(env, 'RUNLEDGER_DEMO_JOBS_PER_SECOND', 1),
    demoFailureRate: num(env, 'RUNLEDGER_DEMO_FAILURE_RATE', 0.05),
    logLevel: env.LOG_LEVEL ?? 'info',
    retainFinishedMs: duration(env, 'RUNLEDGER_RETAIN_FINISHED', 3_600_000),
    retainMaxJobs: int(env, 'RUNLEDGER_RETAIN_MAX_JOBS', 50),
    metricsToken: nonEmpty(env.RUNLEDGER_METRICS_TOKEN),
    readyMaxLagSeconds: num(env, 'RUNLEDGER_READY_MAX_LAG_SECONDS', 30),
    metricsPort: nonEmpty(env.RUNLEDGER_METRICS_PORT) === undefined ? undefined : int(env, 'RUNLEDGER_METRICS_PORT', 0),
    signingKey: nonEmpty(env.RUNLEDGER_SIGNING_KEY),
    checkpointEvery: every(env, 'RUNLEDGER_CHECKPOINT_EVERY', { events: 10_000, seconds: 60 }),
    modelSnapshotEvery: int(env, 'RUNLEDGER_MODEL_SNAPSHOT_EVERY', 10_000),
    modelSnapshotKeep: int(env, 'RUNLEDGER_MODEL_SNAPSHOT_KEEP', 0),
  };
}

/** `N` (events), `Ns` (seconds) or both, comma-separated; what is not given keeps its default. */
function every(env: Env, name: string, fallback: { events: number; seconds: number }): { events: number; seconds: number } {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const result = { ...fallback };
  for (const part of raw.split(',').map((piece) => piece.trim())) {
    const match = /^([1-9]\d*)(s?)$/.exec(part);
    if (!match) throw new Error(`${name} must be events, seconds or both, like "10000", "60s" or "10000,60s"; got ${JSON.stringify(raw)}`);
    if (match[2] === 's') result.seconds = Number(match[1]);
    else result.events = Number(match[1]);
  }
  return result;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function duration(env: Env, name: string, fallbackMs: number): number {
  const raw = nonEmpty(env[name])?.trim();
  if (raw === undefined) return fallbackMs;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw);
  if (!match) throw new Error(`${name} must be a duration such as 90s, 15m, 1h or 2d, got ${JSON.stringify(raw)}`);
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 's']!);
}

function readTokens(value: string | undefined, adminToken: string | undefined): { name: string; token: string }[] {
  const raw = nonEmpty(value);
  if (raw === undefined) return [];
  if (nonEmpty(adminToken) === undefined) {
    throw new Error('RUNLEDGER_READ_TOKENS needs RUNLEDGER_TOKEN: without an admin token the API is open (loopback only)');
  }
  return raw.split(',').map((pair) => {
    const at = pair.indexOf(':');
    const name = pair.slice(0, at).trim();
    const token = pair.slice(at + 1).trim();
    if (at < 1 || !/^[A-Za-z0-9_.-]{1,64}$/.test(name) || token === '') {
      throw new Error(`RUNLEDGER_READ_TOKENS must be name:token pairs separated by commas (names: letters, digits, _ . -), got ${JSON.stringify(pair.slice(0, Math.max(at, 0)))}:…`);
    }
    return { name, token };
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function num(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function int(env: Env, name: string, fallback: number): number {
  const value = num(env, name, fallback);
  if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number, got ${value}`);
  return value;
}

function atLeast(min: number, value: number, name: string): number {
  if (value < min) throw new Error(`${name} must be at least ${min}, got ${value}`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env[name])?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}
