import { EventEmitter } from 'node:events';
import pgListen, { type Subscriber } from 'pg-listen';

// pg-listen is CommonJS with a default export.
const createSubscriber = (pgListen as unknown as { default: typeof pgListen.default }).default;

export const LEDGER_CHANNEL = 'ledger_events';

export interface DoorbellEvents {
  /** An append committed; `last` is the newest position it names. */
  ring: [last: number];
  /** The LISTEN connection was lost and is back: anything may have been missed. */
  reconnected: [];
  error: [error: Error];
}

/**
 * One LISTEN connection per process, shared by every tail. The notification
 * only says that something happened; readers always go to the table.
 */
export class Doorbell extends EventEmitter<DoorbellEvents> {
  readonly #subscriber: Subscriber;
  #connected = false;

  constructor(url: string) {
    super();
    this.setMaxListeners(0);
    this.#subscriber = createSubscriber(
      { connectionString: url, application_name: 'runledger-doorbell' },
      {
        parse: (payload: string) => payload,
        paranoidChecking: 10_000,
        // Retry forever, backing off to 5 s: the safety-net poll keeps readers
        // moving meanwhile, and catching up after reconnect loses nothing.
        retryLimit: Infinity,
        retryTimeout: 0,
        retryInterval: (attempt: number) => Math.min(5000, 100 * 2 ** attempt),
      },
    );
    this.#subscriber.notifications.on(LEDGER_CHANNEL, (payload: string) => {
      // The payload is the newest committed position (sql/000001_ledger.sql, notify_append).
      const last = Number(payload);
      this.emit('ring', Number.isFinite(last) ? last : 0);
    });
    this.#subscriber.events.on('connected', () => {
      if (this.#connected) this.emit('reconnected');
      this.#connected = true;
    });
    this.#subscriber.events.on('error', (error) => this.emit('error', error));
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** LISTENs; resolves once notifications will be received. */
  async start(): Promise<void> {
    await this.#subscriber.connect();
    await this.#subscriber.listenTo(LEDGER_CHANNEL);
  }

  async stop(): Promise<void> {
    this.#connected = false;
    await this.#subscriber.close().catch(() => {});
  }
}
