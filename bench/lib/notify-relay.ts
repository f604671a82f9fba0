// The dispatch floor with a database behind it: the least a PostgreSQL ->
// WebSocket dispatcher can do. A child process (as `runledger serve` is)
// LISTENs and publishes frames carrying the newest id as `upTo` to every
// client (one uWS publish, as the bare broadcast). Three kinds:
//  - `notify`: a frame of the measured size per notification, straight from
//    its payload;
//  - `read`: on each notification, reads the rows after the last one it sent
//    (their payload too, as a dispatcher must) on the LISTEN connection, one
//    read at a time, and sends one frame up to the last: the least
//    dispatcher that treats NOTIFY as a doorbell and the table as the truth
//    (the spec's invariant 3), as runledger's stream does;
//  - `ledger`: the same on the ledger itself (its channel, runledger's read
//    of what the deltas need, and its real deltas frame): runledger's live
//    path without the server around it.
// No sessions, no projector, no pool, no HTTP.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { broadcastApp } from './bare-broadcast.js';
import { LEDGER_CHANNEL } from '../../src/ledger/doorbell.js';
import { readDeltaSources } from '../../src/ledger/read.js';
import { toBatch } from '../../src/stream/feed.js';

export interface NotifyRelay {
  readonly port: number;
  stop(): Promise<void>;
}

export type RelayKind = 'notify' | 'read' | 'ledger';

/**
 * Starts the relay for the floor table (lib/floor.ts FLOOR_SQL) of the
 * database at `url`, or for its ledger (`ledger`, whose frames are the real
 * ones: `frameBytes` is then unused); resolves once it listens on both sides.
 */
export async function startNotifyRelay(url: string, frameBytes: number, kind: RelayKind): Promise<NotifyRelay> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--relay', url, String(frameBytes), kind], {
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
        // A relay that failed has exited already (its error is on stderr).
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}

async function relay(url: string, frameBytes: number, kind: RelayKind): Promise<void> {
  const app = broadcastApp();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  if (kind === 'notify') {
    client.on('notification', (message) => app.publish(Number(message.payload), frameBytes));
  } else {
    // Sends what follows `last`; returns the new last.
    const send: (last: number) => Promise<number> =
      kind === 'read'
        ? async (last) => {
            const { rows } = await client.query<{ id: string }>('select id, type, data from floor_events where id > $1 order by id', [last]);
            if (rows.length === 0) return last;
            const upTo = Number(rows.at(-1)!.id);
            app.publish(upTo, frameBytes);
            return upTo;
          }
        : async (last) => {
            const events = await readDeltaSources(client, last, last + 1000);
            if (events.length === 0) return last;
            const batch = toBatch(events, last);
            app.publishFrame(batch.frame());
            return batch.upTo;
          };
    let last = Number(
      (await client.query(kind === 'read' ? 'select coalesce(max(id), 0) as last from floor_events' : 'select coalesce(max(last_position), 0) as last from ledger.blocks'))
        .rows[0].last,
    );
    let reading = false;
    let again = false;
    const drain = async () => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      do {
        again = false;
        last = await send(last);
      } while (again);
      reading = false;
    };
    client.on('notification', () => void drain());
  }
  await client.query(`listen ${kind === 'ledger' ? LEDGER_CHANNEL : 'floor'}`);
  process.send!({ listening: true });
  process.on('message', () => process.exit(0));
}

const at = process.argv.indexOf('--relay');
if (at >= 0) void relay(process.argv[at + 1]!, Number(process.argv[at + 2]), process.argv[at + 3] as RelayKind);
