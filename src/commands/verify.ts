import { formatVerifyResult, verify } from '../ledger/verify.js';
import type { Command } from './command.js';
import { withDatabase } from './with-database.js';

export const verifyCommand: Command = {
  summary: 'walk the hash chain; prints "ok <count> <head hash>" or the first bad position (exit 1)',
  options: ['(none)     read-only: never migrates, runs as a role granted runledger_auditor'],
  run: (_args, context) =>
    withDatabase(context, async (pool) => {
      const result = await verify(pool);
      console.log(formatVerifyResult(result));
      return result.ok ? 0 : 1;
    }, { migrate: false }),
};
