// The dispatch floor with a database behind it: the least a PostgreSQL ->
// WebSocket dispatcher can do. A child process (as `runledger serve` is)
// LISTENs on the floor table's channel and, for each notification, publishes
// one frame of the measured size, carrying the notified id as `upTo`, to
// every client (one uWS publish, as the bare broadcast). No read after the
// NOTIFY, no deltas, no sessions, no projector: what it costs on top of the
// INSERT+NOTIFY -> LISTEN floor is uWebSockets.js reaching the clients on the
// same cores as PostgreSQL.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { broadcastApp } from './bare-broadcast.js';

export interface NotifyRelay {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts the relay for the floor table (lib/floor.ts FLOOR_SQL) of the database at `url`; resolves once it listens on both sides. */
export async function startNotifyRelay(url: string, frameBytes: number): Promise<NotifyRelay> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--relay', url, String(frameBytes)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let wsPort: number | undefined;
    let listening = false;
    child.on('message', (message: { port?: number; listening?: boolean }) => {
      wsPort ??= message.port;
      listening ||= message.listening === true;
      if (wsPort !== undefined && listening) resolve(wsPort);
    });
    child.once('exit', (code) => reject(new Error(`the NOTIFY relay exited with ${code}`)));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}

async function relay(url: string, frameBytes: number): Promise<void> {
  const app = broadcastApp();
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  listener.on('notification', (message) => app.publish(Number(message.payload), frameBytes));
  await listener.query('listen floor');
  process.send!({ listening: true });
  process.on('message', () => process.exit(0));
}

const at = process.argv.indexOf('--relay');
if (at >= 0) void relay(process.argv[at + 1]!, Number(process.argv[at + 2]));
