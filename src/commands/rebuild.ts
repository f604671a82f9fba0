import { head } from '../ledger/read.js';
import { rebuild } from '../projections/rebuild.js';
import type { Command } from './command.js';
import { withDatabase } from './with-database.js';

export const rebuildCommand: Command = {
  summary: 'replay the ledger into fresh read-model tables and swap them in (--to N: build as of N into projection_at_N)',
  options: ['--to N     build the read model as of ledger offset N into the schema projection_at_N; the live one is left alone'],
  run: (args, context) =>
    withDatabase(context, async (pool) => {
      const toIndex = args.indexOf('--to');
      let to: number | undefined;
      if (toIndex >= 0) {
        to = Number(args[toIndex + 1]);
        if (!Number.isInteger(to) || to < 0) {
          console.error('--to must be a non-negative whole number (a ledger offset)');
          return 2;
        }
        const ledgerHead = await head(pool);
        if (to > ledgerHead) {
          console.error(`--to ${to} is beyond the ledger head ${ledgerHead}`);
          return 2;
        }
      }
      const result = await rebuild(pool, { to, logger: context.logger });
      console.log(
        JSON.stringify({ schema: result!.schema, position: result!.position, events: result!.events, ms: Math.round(result!.ms) }),
      );
      return 0;
    }),
};
