import { once } from 'node:events';
import { exportBundle } from '../audit/export.js';
import { Args, UsageError } from './args.js';
import type { Command } from './command.js';
import { withDatabase } from './with-database.js';

export const exportCommand: Command = {
  summary: 'write an export bundle (NDJSON: the chain anchor, then every event) to stdout: [--from N] [--to M]',
  options: ['--from N   first position (default: 1; moved back to the first event of its block)', '--to M     last position (default: the head when the export starts; moved on to the last event of its block)', 'read-only: never migrates, runs as a role granted runledger_auditor'],
  run: async (argv, context) => {
    let from: number | undefined;
    let to: number | undefined;
    try {
      const args = new Args(argv);
      from = args.integer('--from', 1);
      to = args.integer('--to', 0);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      console.error(error.message);
      return 2;
    }
    return withDatabase(
      context,
      async (pool) => {
        let lines: AsyncGenerator<string>;
        try {
          lines = await exportBundle(pool, { from, to });
        } catch (error) {
          if (!(error instanceof RangeError)) throw error;
          console.error(`--${error.message}`);
          return 2;
        }
        // Wait for stdout to drain: memory stays at one page however slow the reader.
        for await (const chunk of lines) {
          if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
        }
        return 0;
      },
      { migrate: false },
    );
  },
};
