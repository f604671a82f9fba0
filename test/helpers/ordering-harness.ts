import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

/**
 * Appends `count` events inside the open transaction of `client`; returns
 * their positions, or (for appends sealed at COMMIT) a function that reads
 * them after the commit.
 */
export type TxAppender = (
  client: pg.PoolClient,
  count: number,
  marker: Record<string, unknown>,
) => Promise<number[] | (() => Promise<number[]>)>;

export interface ReaderHandle {
  readonly start: number;
  readonly received: number[];
  stop(): Promise<void>;
}

export interface HarnessOptions {
  readonly pool: pg.Pool;
  readonly appendInTx: TxAppender;
  /** Starts a reader that records every position it sees after `from`. */
  readonly startReader: (from: number) => Promise<ReaderHandle>;
  readonly writers: number;
  readonly transactionsPerWriter: number;
  /** Called once, midway through the writes. */
  readonly midway?: () => Promise<void>;
  /** Positions already in the table before the writers start. */
  readonly existing: number;
}

export interface HarnessResult {
  readonly committed: number[];
  readonly rolledBack: number;
  readonly savepointRollbacks: number;
  readonly readers: ReaderHandle[];
}

/**
 * Concurrent writers with random waits between append and COMMIT, about 10 %
 * rollbacks, and an idle-in-transaction session, while several readers follow
 * from random offsets. The caller checks what the readers saw.
 */
export async function runOrderingHarness(options: HarnessOptions): Promise<HarnessResult> {
  const { pool, writers, transactionsPerWriter } = options;
  const idle = await pool.connect();
  await idle.query('begin');
  await idle.query('select 1');

  const readers: ReaderHandle[] = [];
  for (let i = 0; i < 4; i += 1) {
    readers.push(await options.startReader(Math.floor(Math.random() * (options.existing + 1))));
  }

  const committed: number[] = [];
  let rolledBack = 0;
  let savepointRollbacks = 0;
  let done = 0;
  const total = writers * transactionsPerWriter;
  let midwayRun: Promise<void> | undefined;

  const writer = async (id: number) => {
    for (let t = 0; t < transactionsPerWriter; t += 1) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        if (Math.random() < 0.15) {
          // An append rolled back to a savepoint leaves nothing behind either.
          await client.query('savepoint s');
          await options.appendInTx(client, 1 + Math.floor(Math.random() * 3), { writer: id, rolledBack: true });
          await client.query('rollback to savepoint s');
          savepointRollbacks += 1;
        }
        const rollback = Math.random() < 0.1;
        const positions = await options.appendInTx(client, 1 + Math.floor(Math.random() * 10), {
          writer: id,
          rolledBack: rollback,
        });
        await sleep(Math.random() * 20);
        if (rollback) {
          await client.query('rollback');
          rolledBack += 1;
        } else {
          await client.query('commit');
          committed.push(...(typeof positions === 'function' ? await positions() : positions));
        }
      } finally {
        client.release();
      }
      done += 1;
      if (done === Math.floor(total / 2) && options.midway) midwayRun = options.midway();
      // Let readers start in the middle of the traffic too.
      if (id === 0 && t === Math.floor(transactionsPerWriter / 3)) {
        readers.push(await options.startReader(Math.floor(Math.random() * (options.existing + 1))));
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, id) => writer(id)));
  await midwayRun;
  await idle.query('rollback');
  idle.release();
  return { committed: committed.sort((a, b) => a - b), rolledBack, savepointRollbacks, readers };
}

/** Waits until `check` is true, polling; fails after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
