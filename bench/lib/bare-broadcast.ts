// The fan-out floor: a bare uWebSockets.js server in a child process (as
// `runledger serve` is) that sends one frame to every client at a fixed
// rate, the same way the stream server does for unfiltered live subscribers
// (one uWS publish to a topic every client joined), with no database, no feed
// and no sessions. The bench's receivers take its frames
// exactly as they take the server's, so the difference between the two is
// what the ledger and the stream add; the floor itself is what two shared
// cores allow for 1,000 sockets.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadUws } from '../../src/stream/native.js';
import { openLoop } from './floor.js';

type Command = { op: 'run'; rate: number; seconds: number; from: number; frameBytes: number } | { op: 'stop' };

export interface BareBroadcast {
  readonly port: number;
  /**
   * Sends frames upTo = from + 1 … from + rate × seconds, open loop; returns
   * each one's scheduled time (this thread's performance.now()) by upTo - from.
   */
  run(rate: number, seconds: number, from: number, frameBytes: number): Promise<Float64Array>;
  stop(): Promise<void>;
}

export async function startBareBroadcast(): Promise<BareBroadcast> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve(message.port));
    child.once('exit', (code) => reject(new Error(`the bare broadcast server exited with ${code}`)));
  });
  return {
    port,
    async run(rate, seconds, from, frameBytes) {
      const reply = new Promise<number[]>((resolve) => child.once('message', (message: { scheduled: number[] }) => resolve(message.scheduled)));
      child.send({ op: 'run', rate, seconds, from, frameBytes } satisfies Command);
      // Wall-clock milliseconds from the child, back in this thread's base.
      const wall = await reply;
      return Float64Array.from([0, ...wall.map((t) => t - performance.timeOrigin)]);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send({ op: 'stop' } satisfies Command);
      }),
  };
}

/**
 * A uWebSockets.js app whose clients are told they are caught up and join one
 * topic; sends its port to the parent process once listening. Shared with
 * the NOTIFY relay floor (notify-relay.ts).
 */
export function broadcastApp(): { publish(upTo: number, frameBytes: number): void; publishFrame(frame: string): void } {
  const uws = loadUws();
  const app = uws.App();
  app.ws('/ws', {
    maxBackpressure: 256 * 1024 * 1024,
    idleTimeout: 120,
    open: (ws) => {
      ws.send('{"type":"caught_up","offset":0}');
      ws.subscribe('deltas');
    },
  });
  app.listen('127.0.0.1', 0, (socket) => {
    if (!socket) throw new Error('the bare broadcast server could not listen');
    process.send!({ port: uws.us_socket_local_port(socket as never) });
  });
  const publishFrame = (frame: string) => app.publish('deltas', frame, false);
  return {
    publish(upTo, frameBytes) {
      // Shaped like the stream's frames: `type` then `upTo` first, padded to the measured size.
      const head = `{"type":"deltas","upTo":${upTo},"deltas":[{"pad":"`;
      publishFrame(`${head}${'x'.repeat(Math.max(0, frameBytes - head.length - 4))}"}]}`);
    },
    publishFrame,
  };
}

function serve(): void {
  const app = broadcastApp();
  process.on('message', (command: Command) => {
    if (command.op === 'stop') process.exit(0);
    const scheduled: number[] = [];
    void openLoop(command.rate, command.seconds, async (i, at) => {
      scheduled[i] = performance.timeOrigin + at;
      app.publish(command.from + i + 1, command.frameBytes);
    }).then(() => process.send!({ scheduled }));
  });
}

if (process.argv.includes('--serve')) serve();
