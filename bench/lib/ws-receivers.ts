// WebSocket clients for the dispatch bench, on worker threads of their own:
// receiving 50,000 frames a second on the thread that also appends would
// delay the appends (and the arrival stamps) behind the frames, and the
// bench would measure its own event loop. Arrival times cross threads as
// wall-clock milliseconds (timeOrigin + now) and come back in the caller's
// performance.now() base. Each client is a lean raw WebSocket client
// (raw-ws-client.ts), so the receiving costs the shared cores little.
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { connectRaw, type RawClient } from './raw-ws-client.js';

type Command =
  | { op: 'connect'; url: string; count: number; start: number; capacity: number }
  | { op: 'status' }
  | { op: 'reset'; start: number }
  | { op: 'collect' }
  | { op: 'close' };

interface Status {
  /** The lowest offset every client has reached. */
  readonly reached: number;
  /** Bytes of deltas frames received, all clients. */
  readonly bytes: number;
}

/** One worker thread's clients, driven from the bench's thread. */
class ReceiverThread {
  readonly #worker = new Worker(new URL(import.meta.url));
  #next = Promise.resolve<unknown>(undefined);

  ask<T>(command: Command): Promise<T> {
    // One command at a time: each reply answers the command before it.
    const reply = this.#next.then(
      () =>
        new Promise<T>((resolve, reject) => {
          this.#worker.once('message', (message: { error?: string; value?: T }) =>
            message.error === undefined ? resolve(message.value as T) : reject(new Error(message.error)),
          );
          this.#worker.postMessage(command);
        }),
    );
    this.#next = reply.catch(() => {});
    return reply;
  }

  terminate(): Promise<number> {
    return this.#worker.terminate();
  }
}

/**
 * Clients spread over worker threads (Default: 2): one thread receiving
 * 100,000 frames a second (1,000 clients at 100 events/s) queues them behind
 * each other and would report its own backlog as latency.
 */
export class Receivers {
  readonly #threads: ReceiverThread[];

  constructor(threads = Number(process.env.BENCH_RECEIVER_THREADS ?? 2)) {
    this.#threads = Array.from({ length: threads }, () => new ReceiverThread());
  }

  #all<T>(command: Command): Promise<T[]> {
    return Promise.all(this.#threads.map((thread) => thread.ask<T>(command)));
  }

  /** Opens `count` clients at `url` (its `from` is `start`) and waits until each has caught up. */
  async connect(url: string, count: number, start: number, capacity: number): Promise<void> {
    const n = this.#threads.length;
    await Promise.all(
      this.#threads.map((thread, i) => {
        const share = Math.floor(count / n) + (i < count % n ? 1 : 0);
        return share === 0 ? undefined : thread.ask({ op: 'connect', url, count: share, start, capacity });
      }),
    );
  }

  async status(): Promise<Status> {
    const each = await this.#all<Status>({ op: 'status' });
    return { reached: Math.min(...each.map((s) => s.reached)), bytes: each.reduce((sum, s) => sum + s.bytes, 0) };
  }

  /** Counts arrivals again, of offsets after `start`. */
  async reset(start: number): Promise<void> {
    await this.#all({ op: 'reset', start });
  }

  /** Each client's arrival time (this thread's performance.now()) by offset - start; 0 when not arrived. */
  async arrivals(): Promise<Float64Array[]> {
    const wall = (await this.#all<Float64Array[]>({ op: 'collect' })).flat();
    return wall.map((times) => times.map((t) => (t > 0 ? t - performance.timeOrigin : 0)));
  }

  /** Closes every client. */
  async close(): Promise<void> {
    await this.#all({ op: 'close' });
  }

  async stop(): Promise<void> {
    await this.close().catch(() => {});
    await Promise.all(this.#threads.map((thread) => thread.terminate()));
  }
}

interface Receiver {
  ws?: RawClient;
  arrivals: Float64Array;
  base: number;
  caughtUp: boolean;
  reached: number;
  bytes: number;
}

async function receiver(url: string, start: number, capacity: number): Promise<Receiver> {
  const self: Receiver = { arrivals: new Float64Array(capacity), base: start, caughtUp: false, reached: start, bytes: 0 };
  self.ws = await connectRaw(url, (data, now) => {
    // Frames are built with `type` then `upTo`/`offset` first: no need to parse every delta.
    const text = data.toString('latin1', 0, 64);
    if (text.startsWith('{"type":"deltas"')) {
      self.bytes += data.length;
      const upTo = Number(/"upTo":(\d+)/.exec(text)![1]);
      for (let offset = self.reached + 1; offset <= upTo; offset += 1) {
        if (offset - self.base < capacity) self.arrivals[offset - self.base] = now;
      }
      self.reached = Math.max(self.reached, upTo);
    } else if (text.startsWith('{"type":"caught_up"')) {
      self.caughtUp = true;
    }
  });
  return self;
}

async function serve(): Promise<void> {
  let clients: Receiver[] = [];
  const handle = async (command: Command): Promise<unknown> => {
    switch (command.op) {
      case 'connect': {
        for (let i = 0; i < command.count; i += 100) {
          const opened = Array.from({ length: Math.min(100, command.count - i) }, () => receiver(command.url, command.start, command.capacity));
          clients.push(...(await Promise.all(opened)));
        }
        const deadline = performance.now() + 60_000;
        while (!clients.every((c) => c.caughtUp)) {
          if (performance.now() > deadline) throw new Error('clients did not catch up within 60 s');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return undefined;
      }
      case 'status':
        return {
          reached: clients.reduce((min, c) => Math.min(min, c.reached), Infinity),
          bytes: clients.reduce((sum, c) => sum + c.bytes, 0),
        } satisfies Status;
      case 'reset':
        for (const client of clients) {
          client.base = command.start;
          client.arrivals.fill(0);
        }
        return undefined;
      case 'collect':
        return clients.map((c) => c.arrivals);
      case 'close':
        await Promise.all(clients.map((c) => c.ws?.close()));
        clients = [];
        return undefined;
    }
  };
  parentPort!.on('message', (command: Command) => {
    handle(command).then(
      (value) => parentPort!.postMessage({ value }),
      (error: Error) => parentPort!.postMessage({ error: error.message }),
    );
  });
}

if (!isMainThread) void serve();
