import fs from 'node:fs';
import { checkCheckpoint, type Checkpoint } from '../audit/checkpoints.js';
import { verifyBundle } from '../audit/verify-file.js';
import { formatVerifyResult, verify, type VerifyResult } from '../ledger/verify.js';
import { Args, UsageError } from './args.js';
import type { Command } from './command.js';
import { withDatabase } from './with-database.js';

export const verifyCommand: Command = {
  summary:
    'walk the hash chain; prints "ok <count> <head hash>" or the first bad position (exit 1): ' +
    '[--file bundle.ndjson] [--from N] [--expect-head HASH] [--checkpoint cp.json [--public-key KEY]]',
  options: [
    '--from N            trust the stored hash of the block ending at N (or before the block holding N), verify what follows',
    '--expect-head HASH  fail unless the chain ends with this hash (catches a truncated tail)',
    '--checkpoint FILE   a saved signed checkpoint (cp.json) the chain must pass through',
    '--public-key KEY    the checkpoint must be signed by this key (base64; default: the key it names)',
    '--file FILE         verify an export bundle with no database',
    'read-only: never migrates, runs as a role granted runledger_auditor',
  ],
  run: async (argv, context) => {
    let file: string | undefined;
    let from: number | undefined;
    let expectHead: string | undefined;
    let checkpoint: Checkpoint | undefined;
    try {
      const args = new Args(argv);
      file = args.string('--file');
      from = args.integer('--from', 0);
      expectHead = args.string('--expect-head');
      if (expectHead !== undefined && !/^[0-9a-fA-F]{64}$/.test(expectHead)) throw new UsageError('--expect-head must be 64 hex digits');
      if (file !== undefined && from !== undefined) throw new UsageError('--from applies to the database; a bundle starts at its own anchor');
      const checkpointFile = args.string('--checkpoint');
      if (checkpointFile !== undefined) {
        const value = readJson(checkpointFile);
        const problem = checkCheckpoint(value, args.string('--public-key'));
        if (problem !== undefined) {
          // A checkpoint that is not genuine is a failed audit, not a usage error.
          console.log(`bad ${(value as { position?: unknown }).position ?? 0} checkpoint not genuine: ${problem}`);
          return 1;
        }
        checkpoint = value as Checkpoint;
      }
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      console.error(error.message);
      return 2;
    }
    const progress = progressPrinter();
    const report = (result: VerifyResult) => {
      console.log(formatVerifyResult(result));
      return result.ok ? 0 : 1;
    };
    if (file !== undefined) {
      if (!fs.existsSync(file)) {
        console.error(`--file: ${file} does not exist`);
        return 2;
      }
      return report(await verifyBundle(fs.createReadStream(file), { expectHead, checkpoint, onProgress: progress }));
    }
    return withDatabase(
      context,
      async (pool) => {
        let result = await verify(pool, { from, checkpoint, onProgress: progress });
        if (result.ok && expectHead !== undefined && result.headHash !== expectHead.toLowerCase()) {
          result = { ok: false, count: result.count, position: (from ?? 0) + result.count + 1, reason: `head hash ${result.headHash} is not the expected ${expectHead}` };
        }
        return report(result);
      },
      { migrate: false },
    );
  },
};

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--checkpoint: cannot read ${file} as JSON: ${(error as Error).message}`);
  }
}

/** Progress on stderr at most every 2 s, so long runs show they are alive and pipes stay clean. */
function progressPrinter(): (count: number, position: number) => void {
  let last = performance.now();
  return (count, position) => {
    const now = performance.now();
    if (now - last < 2000) return;
    last = now;
    process.stderr.write(`verified ${count} events (position ${position})\n`);
  };
}
