import { Doorbell } from '../ledger/doorbell.js';
import { head } from '../ledger/read.js';
import { tail } from '../ledger/tail.js';
import { untilSignal } from '../ops/signals.js';
import type { Command } from './command.js';
import { withDatabase } from './with-database.js';

export const tailCommand: Command = {
  summary: 'print ledger events as NDJSON as they commit (--from N, default: the last 20)',
  options: ['--from N   start after position N (default: the last 20 events); read-only, runs as runledger_auditor'],
  run: (args, context) => {
    // Listen from the start: a signal during start-up still stops us gracefully.
    const signalled = untilSignal();
    return withDatabase(context, async (pool, database) => {
      const fromIndex = args.indexOf('--from');
      const doorbell = new Doorbell(database.url);
      await doorbell.start();
      const from = fromIndex >= 0 ? Number(args[fromIndex + 1]) : Math.max(0, (await head(pool)) - 20);
      if (!Number.isInteger(from) || from < 0) {
        console.error('--from must be a non-negative whole number');
        return 2;
      }
      const follower = tail({
        db: pool,
        doorbell,
        from,
        pollMs: context.config.tailPollMs,
        onEvents: (events) => {
          for (const event of events) process.stdout.write(`${JSON.stringify(event)}\n`);
        },
      });
      await signalled;
      await follower.stop();
      await doorbell.stop();
      return 0;
    }, { migrate: false });
  },
};
